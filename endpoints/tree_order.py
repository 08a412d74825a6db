"""List order of the site tree: children under their parent, siblings by kind (wards,
communes, special zones, departments, organisations) and then by Vietnamese name.

Each site stores that order as `sort_path`, one segment per level from the top, so a
list is one ORDER BY over an index (a 31,000-site conference reads a page from
`(conference_id, sort_path, site_id)` alone). A segment is hex digits only, which every
database collation sorts alike, and reads unambiguously from its start:

    kind rank (1) · name letters with their tones (2 each) · "00" · site id (8)

so a parent's path is a prefix of its children's and sorts before them. A rename, a new
kind or a move rewrites the site's segment and its subtree's paths (`resort`).
"""

from collections.abc import Iterable

from sqlalchemy import String, func, literal, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from app.text import nfc, vi_sort_key
from endpoints.models import SITE_KIND_ORDER, Participation, Site

# Names share long prefixes ("Đảng ủy phường …"); 48 characters tell them apart, and
# equal prefixes fall back to the id, so the order stays total.
NAME_CHARS = 48
_RANK = {str(kind): i for i, kind in enumerate(SITE_KIND_ORDER)}
_SPACE = ord(" ")


def _letter(primary: int, tone: int, ch: str) -> int:
    """One byte per character: space first (word by word: "An Khánh" before "Anh"),
    then digits, then the Vietnamese alphabet, each letter with its six tones in
    dictionary order (a à ả ã á ạ, then ă), then anything else by code point. One byte
    for letter and tone keeps the paths, and so the list indexes, short."""
    if ch == " ":
        return 0x01
    if "0" <= ch <= "9":
        return 0x02 + ord(ch) - ord("0")
    if primary < 100:  # a letter of app.text's Vietnamese alphabet (33 × 6 < 0xc6)
        return 0x10 + primary * 6 + tone
    return min(0xD6 + max(ord(ch) - _SPACE, 0), 0xFF)


def name_key(name: str) -> str:
    """Hex digits that sort names in Vietnamese order (Đ after D, tones after the base)."""
    text = nfc(" ".join(name.split())[:NAME_CHARS]).casefold()
    primary, tones = vi_sort_key(text)
    return "".join(f"{_letter(p, t, ch):02x}"
                   for p, t, ch in zip(primary, tones, text, strict=False)) + "00"


def segment(*, kind: str, name: str, site_id: int) -> str:
    """One level of a sort path."""
    rank = _RANK.get(str(kind), len(SITE_KIND_ORDER) - 1)
    return f"{rank:x}{name_key(name)}{site_id:08x}"


def sort_path_of(site: Site, parent: Site | None) -> str:
    """`site`'s sort path under `parent` (whose own sort path is up to date)."""
    assert site.id is not None
    own = segment(kind=site.kind, name=site.name, site_id=site.id)
    return (parent.sort_path if parent is not None else "") + own


def sort_paths(
    rows: Iterable[tuple[int, int | None, str, str]], known: dict[int, str] | None = None
) -> dict[int, str]:
    """Sort paths from (id, parent id, kind, name) rows in any order, for bulk writes
    (imports, official units, the migration); `known` gives parents outside `rows`."""
    by_id = {r[0]: r for r in rows}
    done: dict[int, str] = dict(known or {})

    def of(site_id: int) -> str:
        chain: list[int] = []
        current: int | None = site_id
        while current is not None and current not in done and current in by_id:
            chain.append(current)
            current = by_id[current][1]
        prefix = done.get(current, "") if current is not None else ""
        for sid in reversed(chain):
            _, _, kind, name = by_id[sid]
            prefix += segment(kind=kind, name=name, site_id=sid)
            done[sid] = prefix
        return done[site_id]

    return {site_id: of(site_id) for site_id in by_id}


def resort(db: Session, *, site: Site) -> None:
    """Rewrite the sort path of `site` and of its subtree, in the registry and in every
    conference (one statement a table; not committed). Call after a rename, a new kind
    or a move (once `site.path` and `site.parent_id` are the new ones)."""
    parent = db.get(Site, site.parent_id) if site.parent_id is not None else None
    if parent is not None:  # an earlier resort may have rewritten it behind the ORM
        db.refresh(parent, ["sort_path"])
    new = sort_path_of(site, parent)
    # Read from the database, not the ORM: a rewrite of an ancestor in this transaction
    # changed it without touching loaded objects.
    old = db.execute(sa_select(col(Site.sort_path)).where(col(Site.id) == site.id)).scalar_one()
    if new == old:
        set_committed_value(site, "sort_path", new)
        return
    tail = len(old) + 1
    for table in (Site, Participation):
        db.execute(
            update(table)
            .where(col(table.path).startswith(site.path))
            .values(sort_path=literal(new, String).concat(func.substr(table.sort_path, tail)))
            .execution_options(synchronize_session=False)
        )
    set_committed_value(site, "sort_path", new)
