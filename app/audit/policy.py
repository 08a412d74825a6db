"""What the log keeps of each table's writes, declared by the table's own domain.

Every table has a policy (a test checks it), so a new table cannot slip personal data
into the log in clear:
- `personal`: values encrypted with the row's own key (see models.py), readable until
  the person is erased or their conference purged;
- `secret`: never written, only "changed" (password hashes, token hashes, keys);
- `ignore`: not written at all (derived copies such as search and sort keys);
- `skip`: the table's writes are not logged row by row (machine bookkeeping such as
  throttle counts and heartbeats, or check-ins, which are summarised per batch).
"""

from collections.abc import Iterable
from dataclasses import dataclass

HIDDEN = "***"


@dataclass(frozen=True)
class Policy:
    personal: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    skip: bool = False
    # The attribute naming the row's conference and site, if it has them.
    conference_attr: str | None = "conference_id"
    site_attr: str | None = "site_id"


_POLICIES: dict[str, Policy] = {}


def audited(
    table: str,
    *,
    personal: Iterable[str] = (),
    secret: Iterable[str] = (),
    ignore: Iterable[str] = (),
    skip: bool = False,
    conference_attr: str | None = "conference_id",
    site_attr: str | None = "site_id",
) -> None:
    """Declare how `table`'s writes are logged (called by the module defining it)."""
    _POLICIES[table] = Policy(
        personal=frozenset(personal), secret=frozenset(secret), ignore=frozenset(ignore),
        skip=skip, conference_attr=conference_attr, site_attr=site_attr,
    )


def policy_for(table: str) -> Policy | None:
    """The declared policy of `table` (None: undeclared, logged without values)."""
    return _POLICIES.get(table)


def declared() -> frozenset[str]:
    """The tables that have a policy."""
    return frozenset(_POLICIES)
