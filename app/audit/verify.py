"""`diemcau audit verify`: walk the chain and report the first entry that does not hold.

A chain shows a changed entry (its own hash fails) and a deleted or inserted one (the
link of the entry after it fails), but not the newest entries cut off: what is left is
a whole, shorter chain. The head hash printed by each run is the anchor against that:
written down outside the database, it must still be found in the chain the next time
(`anchor=`), unless the log was cut back past it or rewritten from an earlier entry.
"""

from dataclasses import dataclass

from sqlalchemy import Engine, select

from app.audit.chain import CHAINED, digest
from app.audit.models import GENESIS, AuditEntry

_table = AuditEntry.__table__  # type: ignore[attr-defined]
_BATCH = 5_000

CHANGED = "changed"  # an entry's content no longer gives its hash
UNLINKED = "unlinked"  # an entry does not follow the one before it (one went, or came in)
ANCHOR_MISSING = "anchor_missing"  # a head hash written down earlier is no longer there


@dataclass(frozen=True)
class Verdict:
    entries: int
    head: str
    broken_at: int | None = None  # the id of the first entry that fails
    reason: str | None = None  # CHANGED, UNLINKED or ANCHOR_MISSING
    anchor_at: int | None = None  # the id of the entry whose hash is the anchor

    @property
    def ok(self) -> bool:
        return self.reason is None


def verify(engine: Engine, *, anchor: str | None = None) -> Verdict:
    """Recompute every hash in id order: a changed entry fails its own hash, a deleted or
    inserted one breaks the link of the entry after it. With `anchor` (a head hash from
    an earlier run) the chain must also still hold that entry."""
    prev, count, after_id, anchor_at = GENESIS, 0, 0, None
    columns = [_table.c.id, _table.c.prev_hash, _table.c.hash, *(_table.c[n] for n in CHAINED)]
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(*columns).where(_table.c.id > after_id).order_by(_table.c.id)
                .limit(_BATCH)
            ).mappings().all()
            if not rows:
                break
            for row in rows:
                if row["prev_hash"] != prev:
                    return Verdict(entries=count, head=prev, broken_at=row["id"],
                                   reason=UNLINKED)
                if digest(prev, dict(row)) != row["hash"]:
                    return Verdict(entries=count, head=prev, broken_at=row["id"],
                                   reason=CHANGED)
                prev, count = row["hash"], count + 1
                if row["hash"] == anchor:
                    anchor_at = row["id"]
            after_id = rows[-1]["id"]
    # The empty log's head is the genesis hash: an anchor taken then always holds.
    if anchor is not None and anchor_at is None and anchor != GENESIS:
        return Verdict(entries=count, head=prev, reason=ANCHOR_MISSING)
    return Verdict(entries=count, head=prev, anchor_at=anchor_at)
