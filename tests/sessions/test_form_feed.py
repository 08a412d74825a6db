"""The screens' live form counts: coalesced (≤ 4 sends a second per site), encoded once per
site, a late joiner told at once, tallies replaced, a resync reloads (SQLite and PostgreSQL)."""

import asyncio
import json

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import User
from app.db import read_only
from app.realtime import MemoryHub
from sessions import events, form_stage
from sessions.form_feed import FormCounts, SiteCounts
from tests.conftest import Tree
from tests.sessions.floor_support import on_stage
from tests.sessions.form_support import make_form
from tests.sessions.support import Recorder


class Screen:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def count(self, message: str) -> None:
        self.messages.append(message)

    def last(self) -> dict[str, object]:
        return json.loads(self.messages[-1])  # type: ignore[no-any-return]


class Loader:
    """The roof's loader (checkin counts answers): what the database holds, per site."""

    def __init__(self, phones: dict[int, int], tallies: dict[int, int]) -> None:
        self.parts: SiteCounts = (phones, tallies)
        self.calls: list[int] = []

    def __call__(self, db: Session, form_id: int) -> SiteCounts:
        self.calls.append(form_id)
        return dict(self.parts[0]), dict(self.parts[1])


def _open_form(db: Session, tree: Tree, admin: User) -> int:
    sid = on_stage(db, tree, admin)
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    return fid


async def _storm(engine: Engine, tree: Tree, fid: int, loader: Loader
                 ) -> tuple[list[Screen], Screen, Screen]:
    hub = MemoryHub()
    await hub.start()
    try:
        counts = FormCounts(hub=hub, engine=read_only(engine), load=loader)
        a1, a2, b, console = Screen(), Screen(), Screen(), Screen()
        feed = await counts.join(tree.cid, tree.ward_a1, a1)
        await counts.join(tree.cid, tree.ward_a1, a2)
        await counts.join(tree.cid, tree.ward_a2, b)
        await counts.join(tree.cid, None, console)
        await asyncio.sleep(0.3)  # the load's first sends are out
        for s in (a1, a2, b, console):
            s.messages.clear()
        channel = events.form_channel(tree.cid)
        for n in range(200):  # 200 answers within 0.1 s
            site = tree.ward_a1 if n % 2 else tree.ward_a2
            hub.publish(channel, events.encode_form_answered(form_id=fid, site_id=site))
            if n % 20 == 0:
                await asyncio.sleep(0.01)
        hub.publish(channel, events.encode_form_answered(form_id=fid + 1, site_id=tree.ward_a1))
        await asyncio.sleep(0.6)
        late = Screen()
        await counts.join(tree.cid, tree.ward_a2, late)
        leaving: list[tuple[int | None, Screen]] = [
            (tree.ward_a1, a1), (tree.ward_a1, a2), (tree.ward_a2, b), (tree.ward_a2, late),
            (None, console)]
        for where, s in leaving:
            counts.leave(feed, where, s)
        assert counts.running(tree.cid) is None
        return [a1, a2, b], console, late
    finally:
        await hub.stop()


def test_two_hundred_answers_make_at_most_two_sends_per_site_encoded_once(
    db: Session, engine: Engine, tree: Tree, admin: User
) -> None:
    fid = _open_form(db, tree, admin)
    loader = Loader({tree.ward_a1: 5}, {tree.ward_a2: 7})
    (a1, a2, b), console, late = asyncio.run(_storm(engine, tree, fid, loader))
    assert loader.calls == [fid]
    assert 1 <= len(a1.messages) <= 2 and 1 <= len(b.messages) <= 2
    assert len(console.messages) <= 2
    # The same string object to every screen of the site: encoded once.
    assert all(x is y for x, y in zip(a1.messages, a2.messages, strict=True))
    assert a1.last() == {"type": "form_count", "form_id": fid, "site_id": tree.ward_a1,
                         "count": 105}
    assert b.last()["count"] == 107  # 100 phones + the tally's 7
    assert console.last() == {"type": "form_count", "form_id": fid, "site_id": None,
                              "count": 212}
    assert late.messages == [b.messages[-1]]  # the late joiner's count, at once


async def _tally_and_resync(engine: Engine, tree: Tree, fid: int, loader: Loader) -> Screen:
    hub = MemoryHub()
    await hub.start()
    try:
        counts = FormCounts(hub=hub, engine=read_only(engine), load=loader, interval=0.05)
        screen = Screen()
        feed = await counts.join(tree.cid, tree.ward_a1, screen)
        channel = events.form_channel(tree.cid)
        for respondents in (30, 12):  # a corrected tally replaces the earlier one
            hub.publish(channel, events.encode_form_tallied(
                form_id=fid, site_id=tree.ward_a1, respondents=respondents))
            await asyncio.sleep(0.2)
        loader.parts = ({tree.ward_a1: 40}, {tree.ward_a1: 12})
        feed.resync()  # what the hub calls after a broker reconnect
        await asyncio.sleep(0.2)
        counts.leave(feed, tree.ward_a1, screen)
        return screen
    finally:
        await hub.stop()


def test_a_tally_replaces_and_a_resync_reloads(
    db: Session, engine: Engine, tree: Tree, admin: User
) -> None:
    fid = _open_form(db, tree, admin)
    loader = Loader({tree.ward_a1: 2}, {})
    screen = asyncio.run(_tally_and_resync(engine, tree, fid, loader))
    counts = [json.loads(m)["count"] for m in screen.messages]
    assert counts == [2, 32, 14, 52]
    assert loader.calls == [fid, fid]


async def _stage_changes(engine: Engine, tree: Tree, db: Session, admin: User,
                         loader: Loader) -> tuple[Screen, int]:
    hub = MemoryHub()
    await hub.start()
    try:
        counts = FormCounts(hub=hub, engine=read_only(engine), load=loader, interval=0.05)
        screen = Screen()
        feed = await counts.join(tree.cid, tree.ward_a1, screen)
        assert screen.messages == []  # no form on stage: nothing to count
        sid = on_stage(db, tree, admin)
        fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
        form_stage.open_form(db, form_id=fid, actor=admin, publish=hub.publish)
        await asyncio.sleep(0.3)
        counts.leave(feed, tree.ward_a1, screen)
        return screen, fid
    finally:
        await hub.stop()


def test_a_form_coming_on_stage_is_loaded_and_sent(
    db: Session, engine: Engine, tree: Tree, admin: User
) -> None:
    loader = Loader({tree.ward_a1: 3}, {})
    screen, fid = asyncio.run(_stage_changes(engine, tree, db, admin, loader))
    assert loader.calls == [fid]
    assert screen.last() == {"type": "form_count", "form_id": fid, "site_id": tree.ward_a1,
                             "count": 3}
