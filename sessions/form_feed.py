"""Live answer counts of the form on stage, per site, in this process: one feed per conference.

A :class:`FormFeed` listens to its conference's form channel (`events.form_channel`;
every worker gets every answer through the hub) and to its stage channel (which form is
on stage). It loads the form's counts per site from the database through the loader the
roof injects (sessions cannot import checkin, which counts answers), at start, whenever
another form comes on stage and after a resync; then each "answer" message adds one at
its site and each "tally" message replaces the site's tally part. At most every
`interval` seconds (0.25 s: four a second) it sends, to every screen of each site whose
count changed, ONE message encoded once for that site:
``{"type":"form_count","form_id","site_id","count"}``; consoles get the conference total
(``"site_id": null``). A screen joining late gets its site's count at once.

The message has no version: screens get it on its own path (:class:`CountSink`), only
after their stage snapshot went out, so the stage stream's versions are untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Final, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from app.realtime import Attachment, Hub, Message
from sessions import events
from sessions.models import Stage

log = logging.getLogger(__name__)

#: Seconds between two sends of one feed: four a second at most.
INTERVAL: Final = 0.25

#: Counts of one form per site: (phone answers, the people of the rooms' tallies).
SiteCounts = tuple[dict[int, int], dict[int, int]]
Loader = Callable[[Session, int], SiteCounts]


class CountSink(Protocol):
    """Where a screen (or console) gets its count messages; must not block."""

    def count(self, message: str) -> None: ...


def encode_count(*, form_id: int, site_id: int | None, count: int) -> str:
    """`{"type":"form_count","form_id","site_id","count"}` (site None: the total)."""
    return json.dumps({"type": "form_count", "form_id": form_id, "site_id": site_id,
                       "count": count}, separators=(",", ":"))


class FormFeed:
    """The counts of the form on one conference's stage and the sinks that show them."""

    def __init__(self, *, conference_id: int, hub: Hub, engine: Engine, load: Loader,
                 interval: float = INTERVAL) -> None:
        self.conference_id = conference_id
        self.hub = hub
        self.engine = engine
        self.load = load
        self.interval = interval
        self.sinks: dict[int | None, set[CountSink]] = {}
        self.form_id: int | None = None
        self.phones: Counter[int] = Counter()
        self.tallies: dict[int, int] = {}
        self.dirty: set[int] = set()
        self.sends = 0  # messages encoded (tests)
        self.loads = 0
        self._wanted: int | None = None  # the form on stage, as last heard
        self._loading = False
        self._held: list[events.FormCountChange] = []
        self._reload = True
        self._wake = asyncio.Event()
        self._attachments: list[Attachment] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen first (an answer meanwhile is held), then load and run."""
        self._attachments.append(await self.hub.attach(
            events.form_channel(self.conference_id), self._receive,
            on_resync=self.resync, max_pending=1_000_000))
        self._attachments.append(await self.hub.attach(
            events.stage_channel(self.conference_id), self._staged,
            on_resync=self.resync, max_pending=1_000_000))
        await self._read()
        self._task = asyncio.create_task(self._run(), name=f"forms-{self.conference_id}")

    def stop(self) -> None:
        for attachment in self._attachments:
            attachment.detach()
        if self._task is not None:
            self._task.cancel()

    def resync(self) -> None:
        """Messages may have been lost (broker reconnect): load again from the database."""
        self._reload = True
        self._wake.set()

    def _staged(self, message: Message) -> None:
        try:
            form = json.loads(message).get("form")
        except (ValueError, AttributeError):
            return
        wanted = form["id"] if form else None
        if wanted != self._wanted:
            self._wanted = wanted
            self.resync()

    def _receive(self, message: Message) -> None:
        try:
            change = events.decode_form_change(message)
        except (ValueError, KeyError, TypeError):
            log.warning("forms: ignoring a malformed message")
            return
        if self._loading:
            self._held.append(change)
        elif change.form_id == self.form_id:
            self._apply(change)

    def _apply(self, change: events.FormCountChange) -> None:
        if change.respondents is None:
            self.phones[change.site_id] += 1
        else:
            self.tallies[change.site_id] = change.respondents
        self.dirty.add(change.site_id)
        self._wake.set()

    def site_count(self, site_id: int) -> int:
        return self.phones[site_id] + self.tallies.get(site_id, 0)

    def total(self) -> int:
        return sum(self.phones.values()) + sum(self.tallies.values())

    async def _read(self) -> None:
        """Load the stage's form and its counts; what arrived meanwhile is applied after."""
        self._reload = False
        self._loading = True
        try:
            form_id, (phones, tallies) = await run_in_threadpool(self._load)
        finally:
            self._loading = False
        self.loads += 1
        self.form_id, self._wanted = form_id, form_id
        self.phones, self.tallies = Counter(phones), dict(tallies)
        held, self._held = self._held, []
        for change in held:
            if change.form_id == form_id:
                self._apply(change)
        # Every screen learns the new form's counts (0 included).
        self.dirty.update(s for s in self.sinks if s is not None)
        self._wake.set()

    def _load(self) -> tuple[int | None, SiteCounts]:
        with Session(self.engine) as db:
            stage = db.exec(select(Stage).where(Stage.conference_id == self.conference_id)).first()
            if stage is None or stage.form_id is None:
                return None, ({}, {})
            return stage.form_id, self.load(db, stage.form_id)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                if self._reload:
                    await self._read()
                self.flush()
            except Exception:
                log.exception("forms: updating the counts failed")
            await asyncio.sleep(self.interval)  # the coalescing: changes meanwhile wait

    def flush(self) -> None:
        """Send each changed site's count to its screens, and the total to the consoles."""
        dirty, self.dirty = self.dirty, set()
        form_id = self.form_id
        if form_id is None or not dirty:
            return
        for site_id in dirty:
            sinks = self.sinks.get(site_id)
            if sinks:
                self._send(sinks, encode_count(form_id=form_id, site_id=site_id,
                                               count=self.site_count(site_id)))
        consoles = self.sinks.get(None)
        if consoles:
            self._send(consoles, encode_count(form_id=form_id, site_id=None, count=self.total()))

    def _send(self, sinks: set[CountSink], message: str) -> None:
        self.sends += 1
        for sink in list(sinks):
            try:
                sink.count(message)
            except Exception:  # too slow or gone: the stage stream drops it
                sinks.discard(sink)

    def welcome(self, site_id: int | None, sink: CountSink) -> None:
        """A late joiner gets the current count at once (when a form is on stage)."""
        if self.form_id is None or self._loading:
            return  # the load under way sends it
        count = self.total() if site_id is None else self.site_count(site_id)
        self._send({sink}, encode_count(form_id=self.form_id, site_id=site_id, count=count))


class FormCounts:
    """The feeds of this process, made on a screen's first join, dropped with the last."""

    def __init__(self, *, hub: Hub, engine: Engine, load: Loader,
                 interval: float = INTERVAL) -> None:
        self.hub = hub
        self.engine = engine
        self.load = load
        self.interval = interval
        self._feeds: dict[int, FormFeed] = {}
        self._lock = asyncio.Lock()

    def running(self, conference_id: int) -> FormFeed | None:
        return self._feeds.get(conference_id)

    async def join(self, conference_id: int, site_id: int | None, sink: CountSink) -> FormFeed:
        """The conference's feed (started and loaded on first use), with `sink` added for
        `site_id` (None: a console, which gets the total); it gets the count now."""
        async with self._lock:
            feed = self._feeds.get(conference_id)
            if feed is None:
                feed = FormFeed(conference_id=conference_id, hub=self.hub, engine=self.engine,
                                load=self.load, interval=self.interval)
                try:
                    await feed.start()
                except BaseException:
                    feed.stop()
                    raise
                self._feeds[conference_id] = feed
            feed.sinks.setdefault(site_id, set()).add(sink)
        feed.welcome(site_id, sink)
        return feed

    def leave(self, feed: FormFeed, site_id: int | None, sink: CountSink) -> None:
        """A screen left; the last one stops the feed."""
        sinks = feed.sinks.get(site_id)
        if sinks is not None:
            sinks.discard(sink)
            if not sinks:
                del feed.sinks[site_id]
        if not feed.sinks and self._feeds.get(feed.conference_id) is feed:
            del self._feeds[feed.conference_id]
            feed.stop()
