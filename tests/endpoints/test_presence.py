"""Site presence: transitions from heartbeats, recorded with their time, published once."""

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.db import local_today, utcnow
from app.main import create_app
from endpoints import presence, service, site_changes
from endpoints.models import Conference, ConferenceCreate
from endpoints.screen_models import ScreenDevice, SitePresence, SitePresenceEvent
from tests.conftest import ADMIN_PASSWORD, Tree, make_settings, token_for


@pytest.fixture
def tree(db: Session, admin: User) -> Tree:
    """The shared tree, its conference live today: presence is told to live conferences."""
    tree = Tree(db, admin)
    _make_live(db, tree.conference)
    return tree


def _make_live(db: Session, conference: Conference) -> None:
    conference.starts_on = conference.ends_on = local_today()
    db.add(conference)
    db.commit()


def _screen(db: Session, tree: Tree, site_id: int, seen_ago: float | None) -> ScreenDevice:
    screen = ScreenDevice(
        site_id=site_id, name="Máy chiếu", enrolled_at=utcnow(),
        last_seen_at=None if seen_ago is None else utcnow() - timedelta(seconds=seen_ago),
    )
    db.add(screen)
    db.commit()
    return screen


def _events(db: Session, site_id: int) -> list[bool]:
    db.rollback()
    return [e.online for e in db.exec(
        select(SitePresenceEvent).where(SitePresenceEvent.site_id == site_id)
        .order_by(col(SitePresenceEvent.id))
    ).all()]


def test_site_goes_online_then_offline_after_timeout(db: Session, tree: Tree) -> None:
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    now = utcnow()
    assert presence.record_transitions(db, timeout_seconds=45, now=now) == {
        tree.cid: [(tree.ward_a1, True)]
    }
    later = now + timedelta(seconds=46)
    assert presence.record_transitions(db, timeout_seconds=45, now=later) == {
        tree.cid: [(tree.ward_a1, False)]
    }
    rows = db.exec(select(SitePresenceEvent).order_by(col(SitePresenceEvent.id))).all()
    assert [(r.site_id, r.online, r.at) for r in rows] == [
        (tree.ward_a1, True, now), (tree.ward_a1, False, later)
    ]
    state = db.get(SitePresence, tree.ward_a1)
    assert state is not None and state.online is False and state.changed_at == later


def test_repeated_tick_records_nothing_new(db: Session, tree: Tree) -> None:
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    presence.record_transitions(db, timeout_seconds=45)
    assert presence.record_transitions(db, timeout_seconds=45) == {}
    assert _events(db, tree.ward_a1) == [True]


def test_one_live_screen_keeps_the_site_online(db: Session, tree: Tree) -> None:
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    _screen(db, tree, tree.ward_a1, seen_ago=600)
    _screen(db, tree, tree.ward_b1, seen_ago=600)
    _screen(db, tree, tree.ward_a2, seen_ago=None)
    changes = presence.record_transitions(db, timeout_seconds=45)
    assert changes == {tree.cid: [(tree.ward_a1, True)]}
    assert presence.online_sites(db, conference_id=tree.cid) == {tree.ward_a1}


def test_revoked_screen_does_not_count(db: Session, tree: Tree) -> None:
    screen = _screen(db, tree, tree.ward_a1, seen_ago=1)
    presence.record_transitions(db, timeout_seconds=45)
    screen.revoked = True
    db.add(screen)
    db.commit()
    presence.record_transitions(db, timeout_seconds=45)
    assert _events(db, tree.ward_a1) == [True, False]


def test_transitions_are_published_per_conference(db: Session, tree: Tree) -> None:
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    _screen(db, tree, tree.ward_b1, seen_ago=1)
    sent: list[tuple[str, str]] = []
    changes = presence.record_transitions(db, timeout_seconds=45)
    presence.publish_transitions(changes, publish=lambda c, m: sent.append((c, m)), at=utcnow())
    assert len(sent) == 1 and sent[0][0] == f"conference:{tree.cid}:presence"
    body = json.loads(sent[0][1])
    assert body["type"] == "presence"
    assert sorted(map(tuple, body["changes"])) == sorted([(tree.ward_a1, True),
                                                          (tree.ward_b1, True)])


def test_deleting_a_site_removes_its_presence(db: Session, tree: Tree, admin: User) -> None:
    _screen(db, tree, tree.ward_b1, seen_ago=1)
    presence.record_transitions(db, timeout_seconds=45)
    site_changes.delete_site(db, site_id=tree.ward_b1, actor=admin)
    assert db.get(SitePresence, tree.ward_b1) is None
    assert _events(db, tree.ward_b1) == []


def test_site_between_conferences_changes_without_telling_any(
    db: Session, tree: Tree
) -> None:
    conference = db.get(Conference, tree.cid)
    assert conference is not None
    conference.starts_on = conference.ends_on = date(2025, 9, 9)
    db.add(conference)
    db.commit()
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    assert presence.record_transitions(db, timeout_seconds=45) == {}
    events = db.exec(select(SitePresenceEvent)).all()
    assert [(e.site_id, e.online, e.conference_id) for e in events] == [
        (tree.ward_a1, True, None)
    ]


def test_transition_reaches_every_conference_live_at_the_site(
    db: Session, tree: Tree, admin: User
) -> None:
    second = service.create_conference(db, data=ConferenceCreate(
        title="Hội nghị song song", starts_on=local_today(), ends_on=local_today()
    ), actor=admin)
    assert second.id is not None
    site = service.get_site(db, site_id=tree.ward_a1, actor=admin)
    service.invite_site(db, conference_id=second.id, site=site)
    db.commit()
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    _screen(db, tree, tree.ward_b1, seen_ago=1)
    changes = presence.record_transitions(db, timeout_seconds=45)
    assert changes == {
        tree.cid: [(tree.ward_a1, True), (tree.ward_b1, True)],
        second.id: [(tree.ward_a1, True)],
    }
    # One event per transition of the site, naming the latest live conference.
    db.rollback()
    assert len(db.exec(select(SitePresenceEvent)).all()) == 2
    assert presence.online_sites(db, conference_id=second.id) == {tree.ward_a1}


@pytest.fixture
def fast_client(database_url: str) -> Iterator[TestClient]:
    """An app with presence timeouts of about a second."""
    settings = make_settings(database_url, presence_timeout_seconds=1.0,
                             presence_tick_seconds=0.2, presence_flush_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        yield client


def _wait_events(client: TestClient, headers: dict[str, str], site_id: int, want: list[bool],
                 limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        r = client.get(f"/api/v1/sites/{site_id}/presence", headers=headers)
        assert r.status_code == 200
        if [e["online"] for e in reversed(r.json())] == want:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"presence of {site_id} never became {want}: {r.json()}")


@pytest.mark.timeout(60)
def test_closed_screen_goes_offline_within_the_timeout(tree: Tree, fast_client: TestClient) -> None:
    headers = token_for(fast_client, "admin", ADMIN_PASSWORD)
    r = fast_client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=headers)
    assert r.status_code == 201
    token = r.json()["token"]
    dash = headers["Authorization"].split(" ", 1)[1]
    with fast_client.websocket_connect(f"/ws/dashboard?conference_id={tree.cid}&token={dash}"
                                       ) as board:
        assert json.loads(board.receive_text())["totals"]["sites_online"] == 0
        with fast_client.websocket_connect(f"/ws/screen?token={token}") as ws:
            json.loads(ws.receive_text())
            _wait_events(fast_client, headers, tree.ward_a1, [True], limit=5)
            msg = json.loads(board.receive_text())
            assert msg["totals"]["sites_online"] == 1
        # Heartbeats stop: offline after timeout (1 s) + flush (0.2 s) + tick (0.2 s).
        took = _wait_events(fast_client, headers, tree.ward_a1, [True, False], limit=10)
        assert took < 1.0 + 0.2 + 0.2 + 1.0
        msg = json.loads(board.receive_text())
        assert msg["totals"]["sites_online"] == 0
        assert next(r for r in msg["sites"] if r["site_id"] == tree.ward_a1)["online"] is False


def test_presence_history_is_scoped(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    assert client.get(f"/api/v1/sites/{tree.ward_a1}/presence", headers=headers).json() == []
    r = client.get(f"/api/v1/sites/{tree.ward_b1}/presence", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "site_out_of_scope"


@pytest.mark.timeout(60)
def test_just_connected_screen_is_online_at_once(tree: Tree, database_url: str) -> None:
    """With the default flush (10 s) and tick (5 s), a new screen is written and its site
    turned online right after it connects, not up to 15 s later."""
    settings = make_settings(database_url, presence_flush_seconds=60, presence_tick_seconds=60)
    with TestClient(create_app(settings)) as client:
        headers = token_for(client, "admin", ADMIN_PASSWORD)
        token = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token",
                            headers=headers).json()["token"]
        with client.websocket_connect(f"/ws/screen?token={token}") as ws:
            json.loads(ws.receive_text())
            took = _wait_events(client, headers, tree.ward_a1, [True], limit=5)
            assert took < 2.0
            screens = client.get(f"/api/v1/sites/{tree.ward_a1}/screens", headers=headers)
            assert screens.json()[0]["last_seen_at"] is not None
