"""The attendance board: one conference's sites in memory, rolled up the site tree. Pure.

A :class:`Board` holds one row per site and, for every site, the sum over its subtree
("rollup"; a hub's totals are the sum of its children at every level). It is built from
the per-site counts that :mod:`checkin.attendance` loads and kept current message by
message, each change applied in O(depth). The dashboard, the /attendance summary and
the reports all read their figures through it, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Literal

from app.templating import LOCAL_TZ
from app.text import search_key
from checkin.models import CONFERENCE_LEVEL
from checkin.sync_view import SyncSummary
from endpoints.models import READY, Readiness

COUNTERS: Final = (
    "sites",
    "sites_online",
    "sites_ready",
    "sites_missing",
    "checked_in",
    "headcount",
    "expected",
    "present",
    # Counted in sites_missing too: marked ready, but no screen online. The dashboard
    # says so, rather than calling them plainly "chưa sẵn sàng".
    "sites_ready_offline",
)
#: Scopes up to this many sites get every row in the snapshot; larger ones get rollups
#: only and page through rows over HTTP.
SNAPSHOT_ROWS: Final = 500
RECENT_INCIDENTS: Final = 20
KEPT_INCIDENTS: Final = 200
#: Sites whose last offline sync the dashboard lists, newest first.
RECENT_SYNCS: Final = 20

Filter = Literal["not_ready", "offline", "below_half"]


def present(checked_in: int, headcount: int | None) -> int:
    """Who is present at a site: checked in, or the reported headcount when that is higher
    (walk-ins, a site without a scanner)."""
    return max(checked_in, headcount or 0)


@dataclass(slots=True)
class SiteState:
    """One site: its own counts and the sums over its subtree."""

    site_id: int
    parent_id: int | None
    path: str
    depth: int
    name: str
    name_key: str
    kind: str
    readiness: str
    expected: int
    online: bool = False
    checked_in: int = 0
    headcount: int | None = None
    code: str | None = None
    # The registry's list order (Site.sort_path): kind, then Vietnamese name, per level.
    order: str = ""
    ancestors: tuple[int, ...] = ()
    children: int = 0
    rollup: list[int] = field(default_factory=lambda: [0] * len(COUNTERS))
    # The site's last return from a network cut (None: it never synced a queue), and its
    # JSON view (rows and the recent-syncs list carry it).
    sync: SyncSummary | None = None
    sync_view: dict[str, Any] | None = None

    @property
    def participating(self) -> bool:
        """False when the site was marked không tham gia."""
        return self.readiness != Readiness.not_participating

    @property
    def counted_expected(self) -> int:
        """The expected attendees that count in every total (dashboard, summary, reports,
        files): a site marked không tham gia expects nobody."""
        return self.expected if self.participating else 0

    @property
    def present(self) -> int:
        """Present at this site (see :func:`present`)."""
        return present(self.checked_in, self.headcount)

    @property
    def ready(self) -> bool:
        """Connection tested or declared ready."""
        return self.readiness in READY

    @property
    def ready_offline(self) -> bool:
        """Taking part and marked ready, but no screen of it online."""
        return self.participating and self.ready and not self.online

    @property
    def missing(self) -> bool:
        """Taking part but offline or not ready."""
        return self.participating and not (self.online and self.ready)

    def add_sync(self, summary: SyncSummary, *, today: date) -> None:
        """One more sync request of this site (added to the last when the same return)."""
        self.sync = self.sync.then(summary) if self.sync is not None else summary
        self.sync_view = self.sync.view(site_id=self.site_id, site_name=self.name, today=today)

    def own(self) -> tuple[int, ...]:
        """This site's own contribution to each counter."""
        p = self.participating
        return (
            int(p),
            int(p and self.online),
            int(p and self.ready),
            int(self.missing),
            self.checked_in,
            self.headcount or 0,
            self.counted_expected,
            self.present,
            int(self.ready_offline),
        )

    def row(self) -> dict[str, Any]:
        """The JSON row of this site."""
        return {
            "site_id": self.site_id,
            "parent_id": self.parent_id,
            "path": self.path,
            "depth": self.depth,
            "name": self.name,
            "kind": self.kind,
            "readiness": self.readiness,
            "online": self.online,
            "checked_in": self.checked_in,
            "headcount": self.headcount,
            "expected": self.expected,
            "present": self.present,
            "sync": self.sync_view,
        }

    def rollup_row(self) -> dict[str, Any]:
        """The JSON row of this site with the totals of its subtree."""
        body = self.row()
        body["totals"] = dict(zip(COUNTERS, self.rollup, strict=True))
        return body


def _ancestors(path: str, site_id: int) -> tuple[int, ...]:
    return tuple(int(p) for p in path.strip("/").split("/") if p and int(p) != site_id)


def local_minute(at: datetime) -> str:
    """Local minute of an instant: "2025-09-09T08:01"."""
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


class Board:
    """A conference's sites in memory, with rollups kept current message by message."""

    def __init__(self, conference_id: int, session_key: int, sites: Iterable[SiteState]) -> None:
        self.conference_id = conference_id
        self.session_key = session_key
        self.sites: dict[int, SiteState] = {s.site_id: s for s in sites}
        self.total = [0] * len(COUNTERS)
        self.incidents: list[dict[str, Any]] = []
        self.dirty: set[int] = set()
        self.incidents_dirty = False
        self.synced: set[int] = {s.site_id for s in self.sites.values() if s.sync is not None}
        self.syncs_dirty = False
        self.unknown_site = False
        for s in self.sites.values():
            s.ancestors = _ancestors(s.path, s.site_id)
            if s.parent_id in self.sites:
                self.sites[s.parent_id].children += 1
        for s in self.sites.values():
            self._add(s, s.own())

    def _add(self, site: SiteState, delta: Iterable[int]) -> None:
        delta = tuple(delta)
        if not any(delta):
            return
        for target in (site.rollup, self.total, *(
            self.sites[a].rollup for a in site.ancestors if a in self.sites
        )):
            for i, d in enumerate(delta):
                target[i] += d

    def _change(self, site_id: int, mutate: Callable[[SiteState], None]) -> None:
        site = self.sites.get(site_id)
        if site is None:
            self.unknown_site = True  # created after the load: reload
            return
        before = site.own()
        mutate(site)
        after = site.own()
        self._add(site, (a - b for a, b in zip(after, before, strict=True)))
        self.dirty.add(site_id)

    # -- changes ------------------------------------------------------------

    def checked_in(self, site_id: int) -> None:
        """One more first check-in at a site."""

        def bump(s: SiteState) -> None:
            s.checked_in += 1

        self._change(site_id, bump)

    def set_headcount(self, site_id: int, total: int) -> None:
        """A site's current headcount report."""

        def put(s: SiteState) -> None:
            s.headcount = total

        self._change(site_id, put)

    def set_online(self, site_id: int, online: bool) -> None:
        """A presence transition."""

        def put(s: SiteState) -> None:
            s.online = online

        self._change(site_id, put)

    def set_site(self, site_id: int, *, readiness: str, expected: int, name: str) -> None:
        """Roll-call fields of a site changed."""

        def put(s: SiteState) -> None:
            s.readiness, s.expected = readiness, expected
            if name != s.name:
                s.name, s.name_key = name, search_key(name)

        self._change(site_id, put)

    def note_sync(self, site_id: int, summary: SyncSummary, *, today: date) -> None:
        """A site sent (part of) its offline queue; its check-ins came as their own changes."""

        def put(s: SiteState) -> None:
            s.add_sync(summary, today=today)

        self._change(site_id, put)
        if site_id in self.sites:
            self.synced.add(site_id)
            self.syncs_dirty = True

    def note_incident(self, incident: dict[str, Any]) -> None:
        """An incident opened or resolved: newest first, by id."""
        self.incidents = [i for i in self.incidents if i.get("id") != incident.get("id")]
        self.incidents.insert(0, incident)
        self.incidents.sort(key=lambda i: (i.get("opened_at") or "", i.get("id") or 0),
                            reverse=True)
        del self.incidents[KEPT_INCIDENTS:]
        self.incidents_dirty = True

    # -- reading ------------------------------------------------------------

    def in_scope(self, site: SiteState, root: int | None) -> bool:
        """True when `site` is `root` or below it (root None: everything)."""
        return root is None or site.site_id == root or root in site.ancestors

    def scope_sites(self, root: int | None) -> list[SiteState]:
        """Sites of a scope in list order (children under their parent)."""
        sites = [s for s in self.sites.values() if self.in_scope(s, root)]
        sites.sort(key=lambda s: (s.order, s.path))
        return sites

    def totals(self, root: int | None) -> dict[str, int]:
        """Sums over a scope."""
        values = self.total if root is None else self.sites[root].rollup
        return dict(zip(COUNTERS, values, strict=True))

    def incidents_for(self, root: int | None) -> list[dict[str, Any]]:
        """Recent incidents of a scope (≤ 20)."""
        out = [
            i for i in self.incidents
            if (s := self.sites.get(int(i["site_id"]))) is not None and self.in_scope(s, root)
        ]
        return out[:RECENT_INCIDENTS]

    def syncs_for(self, root: int | None) -> list[dict[str, Any]]:
        """The last sync of each site of a scope that synced, newest first (≤ 20)."""
        views = [
            s.sync_view for i in self.synced
            if (s := self.sites.get(i)) is not None and s.sync_view is not None
            and self.in_scope(s, root)
        ]
        views.sort(key=lambda v: (v["at"], v["site_id"]), reverse=True)
        return views[:RECENT_SYNCS]


@dataclass(frozen=True)
class Scope:
    """What an actor's dashboard covers: the whole conference or one subtree."""

    conference_id: int
    session_id: int | None
    root: int | None

    @property
    def session_key(self) -> int:
        """Key of the session in attendance rows (0 = conference-level check-in)."""
        return self.session_id if self.session_id is not None else CONFERENCE_LEVEL


def arrivals_list(counts: Counter[str]) -> list[list[Any]]:
    """[[minute, count], ...] in time order."""
    return [[m, counts[m]] for m in sorted(counts)]


def snapshot_body(
    board: Board, scope: Scope, arrivals: Counter[str], version: int
) -> dict[str, Any]:
    """The snapshot message of a scope."""
    sites = board.scope_sites(scope.root)
    complete = len(sites) <= SNAPSHOT_ROWS
    return {
        "type": "snapshot",
        "version": version,
        "conference_id": scope.conference_id,
        "session_id": scope.session_id,
        "scope_site_id": scope.root,
        "totals": board.totals(scope.root),
        "rollups": [s.rollup_row() for s in sites if s.children],
        "sites": [s.row() for s in sites] if complete else [],
        "sites_total": len(sites),
        "sites_complete": complete,
        "arrivals": arrivals_list(arrivals),
        "incidents": board.incidents_for(scope.root),
        "syncs": board.syncs_for(scope.root),
    }


@dataclass(frozen=True)
class SitePage:
    """A page of dashboard rows."""

    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]


def filter_rows(
    board: Board,
    *,
    root: int | None,
    filter: Filter | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> SitePage:
    """Rows of a scope, filtered (not ready / offline / below half of expected) and searched
    without diacritics, in tree order."""
    key = search_key(q) if q else ""
    rows = []
    for s in board.scope_sites(root):
        if filter == "not_ready" and (s.ready or not s.participating):
            continue
        if filter == "offline" and (s.online or not s.participating):
            continue
        if filter == "below_half" and not (s.expected > 0 and 2 * s.present < s.expected):
            continue
        if key and key not in s.name_key:
            continue
        rows.append(s)
    offset, limit = max(0, offset), max(1, min(limit, 500))
    page = rows[offset : offset + limit]
    return SitePage(total=len(rows), offset=offset, limit=limit,
                    rows=[s.rollup_row() if s.children else s.row() for s in page])
