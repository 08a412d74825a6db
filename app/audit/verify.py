"""`diemcau audit verify`: walk the chain and report the first entry that does not hold."""

from dataclasses import dataclass

from sqlalchemy import Engine, select

from app.audit.chain import CHAINED, digest
from app.audit.models import GENESIS, AuditEntry

_table = AuditEntry.__table__  # type: ignore[attr-defined]
_BATCH = 5_000


@dataclass(frozen=True)
class Verdict:
    entries: int
    head: str
    broken_at: int | None = None  # the id of the first entry that fails
    reason: str | None = None  # "changed" (its hash) or "unlinked" (an entry before it went)

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(engine: Engine) -> Verdict:
    """Recompute every hash in id order: a changed entry fails its own hash, a deleted or
    inserted one breaks the link of the entry after it."""
    prev, count, after_id = GENESIS, 0, 0
    columns = [_table.c.id, _table.c.prev_hash, _table.c.hash, *(_table.c[n] for n in CHAINED)]
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(*columns).where(_table.c.id > after_id).order_by(_table.c.id)
                .limit(_BATCH)
            ).mappings().all()
            if not rows:
                return Verdict(entries=count, head=prev)
            for row in rows:
                if row["prev_hash"] != prev:
                    return Verdict(entries=count, head=prev, broken_at=row["id"],
                                   reason="unlinked")
                if digest(prev, dict(row)) != row["hash"]:
                    return Verdict(entries=count, head=prev, broken_at=row["id"],
                                   reason="changed")
                prev, count = row["hash"], count + 1
            after_id = rows[-1]["id"]
