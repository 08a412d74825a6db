"""Roll-call: connection tests, incidents, the missing-at-T-15 list, and refusals."""

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import User
from app.db import utcnow
from endpoints import events, presence, rollcall, service
from endpoints.models import ConferenceCreate, ConnectionTest, Incident, Readiness
from endpoints.screen_models import ScreenDevice
from tests.conftest import Tree, token_for
from tests.endpoints.support import participation


def _readiness(db: Session, tree: Tree, site_id: int) -> str:
    return participation(db, tree.cid, site_id).readiness


def test_passing_connection_test_marks_site_tested(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/connection-test", headers=headers,
                    json={"picture": True, "sound": True, "link": True, "note": "Ổn định"})
    assert r.status_code == 201, r.text
    assert r.json()["readiness"] == "tested"
    assert _readiness(db, tree, tree.ward_a1) == Readiness.tested
    tests = db.exec(select(ConnectionTest)).all()
    assert [(t.site_id, t.picture, t.sound, t.link) for t in tests] == [
        (tree.ward_a1, True, True, True)
    ]


def test_failing_connection_test_opens_incident_with_reason(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/connection-test", headers=admin_headers,
                    json={"picture": True, "sound": False, "link": True})
    assert r.status_code == 201 and r.json()["readiness"] == "incident"
    r = client.get(f"/api/v1/conferences/{tree.cid}/incidents?open=true", headers=admin_headers)
    assert [(i["site_id"], i["reason"]) for i in r.json()] == [
        (tree.ward_b1, "Kiểm tra kết nối không đạt: âm thanh")
    ]
    # A later passing test closes it and the history keeps both tests.
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/connection-test", headers=admin_headers,
                    json={"picture": True, "sound": True, "link": True})
    assert r.json()["readiness"] == "tested"
    assert client.get(f"/api/v1/conferences/{tree.cid}/incidents?open=true",
                      headers=admin_headers).json() == []
    assert len(db.exec(select(ConnectionTest)).all()) == 2


def test_incident_then_resolve_restores_previous_readiness(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.patch(f"/api/v1/sites/{tree.ward_a2}", headers=admin_headers,
                     json={"readiness": "ready"})
    assert r.status_code == 200
    r = client.post(f"/api/v1/sites/{tree.ward_a2}/incidents", headers=admin_headers,
                    json={"reason": "Mất hình"})
    assert r.status_code == 201 and r.json()["site_name"] == "Đảng ủy xã Cần Giờ"
    incident_id = r.json()["id"]
    assert _readiness(db, tree, tree.ward_a2) == Readiness.incident
    r = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=admin_headers)
    assert r.status_code == 200 and r.json()["resolved_at"] is not None
    assert _readiness(db, tree, tree.ward_a2) == Readiness.ready
    again = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=admin_headers)
    assert again.status_code == 200 and again.json()["resolved_at"] == r.json()["resolved_at"]


def test_readiness_and_incidents_belong_to_one_conference(
    client: TestClient, db: Session, admin: User, tree: Tree, admin_headers: dict[str, str]
) -> None:
    later = service.create_conference(db, data=ConferenceCreate(
        title="Hội nghị sau", starts_on=date(2099, 1, 5), ends_on=date(2099, 1, 5)
    ), actor=admin)
    assert later.id is not None
    ward = service.get_site(db, site_id=tree.ward_a1, actor=admin)
    service.invite_ancestors(db, conference_id=later.id, site=ward)
    service.invite_site(db, conference_id=later.id, site=ward)
    db.commit()
    # Without ?conference_id= the site's current conference (the upcoming one) is meant.
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/incidents", headers=admin_headers,
                    json={"reason": "Mất hình"})
    assert r.status_code == 201 and r.json()["conference_id"] == later.id
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/connection-test?conference_id={tree.cid}",
                    headers=admin_headers, json={"picture": True, "sound": True, "link": True})
    assert r.status_code == 201 and r.json()["readiness"] == "tested"
    assert participation(db, later.id, tree.ward_a1).readiness == Readiness.incident
    assert _readiness(db, tree, tree.ward_a1) == Readiness.tested
    r = client.get(f"/api/v1/conferences/{tree.cid}/incidents", headers=admin_headers)
    assert r.json() == []
    # A conference the site is not in: 404 with a code, nothing written.
    other = service.create_conference(db, data=ConferenceCreate(
        title="Không mời", starts_on=date(2099, 2, 1), ends_on=date(2099, 2, 1)
    ), actor=admin)
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/incidents?conference_id={other.id}",
                    headers=admin_headers, json={"reason": "x"})
    assert r.status_code == 404 and r.json()["code"] == "site_not_in_conference"


def test_incidents_are_listed_recent_first_and_scoped(
    client: TestClient, tree: Tree, admin_headers: dict[str, str], coordinator_a: User
) -> None:
    for site_id, reason in ((tree.ward_a1, "Một"), (tree.ward_b1, "Hai"), (tree.ward_a2, "Ba")):
        r = client.post(f"/api/v1/sites/{site_id}/incidents", headers=admin_headers,
                        json={"reason": reason})
        assert r.status_code == 201
    every = client.get(f"/api/v1/conferences/{tree.cid}/incidents", headers=admin_headers).json()
    assert [i["reason"] for i in every] == ["Ba", "Hai", "Một"]
    mine = client.get(f"/api/v1/conferences/{tree.cid}/incidents",
                      headers=token_for(client, "hcm", "hcm-password")).json()
    assert [i["reason"] for i in mine] == ["Ba", "Một"]


def test_coordinator_cannot_touch_another_subtree(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/connection-test", headers=headers,
                    json={"picture": True, "sound": True, "link": True})
    assert r.status_code == 403 and r.json()["code"] == "site_out_of_scope"
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/incidents", headers=headers,
                    json={"reason": "x"})
    assert r.status_code == 403
    assert db.exec(select(Incident)).all() == [] and db.exec(select(ConnectionTest)).all() == []


def test_not_participating_site_is_refused_cleanly(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.patch(f"/api/v1/sites/{tree.ward_b1}", headers=admin_headers,
                     json={"readiness": "not_participating"})
    assert r.status_code == 200
    for path, body in (("connection-test", {"picture": True, "sound": True, "link": True}),
                       ("incidents", {"reason": "Mất tiếng"})):
        r = client.post(f"/api/v1/sites/{tree.ward_b1}/{path}", headers=admin_headers, json=body)
        assert r.status_code == 409 and r.json()["code"] == "site_not_participating"
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/headcounts", headers=admin_headers,
                    json={"counts": {"dai_bieu": 5}})
    assert r.status_code == 409 and r.json()["code"] == "site_not_participating"
    db.rollback()
    assert db.exec(select(Incident)).all() == [] and db.exec(select(ConnectionTest)).all() == []


def test_negative_or_absurd_headcounts_are_refused(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    for counts in ({"dai_bieu": -1}, {"dai_bieu": 10**9}, {"unknown": 3}, {}):
        r = client.post(f"/api/v1/sites/{tree.ward_a1}/headcounts", headers=admin_headers,
                        json={"counts": counts})
        assert r.status_code in (400, 422), (counts, r.text)
    r = client.get(f"/api/v1/conferences/{tree.cid}/dashboard", headers=admin_headers)
    assert r.json()["totals"]["headcount"] == 0


def test_bad_input_is_refused(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/connection-test", headers=admin_headers,
                    json={"picture": "maybe", "sound": True, "link": True})
    assert r.status_code == 422
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/incidents", headers=admin_headers,
                    json={"reason": "x" * 5000})
    assert r.status_code == 422
    r = client.post("/api/v1/incidents/99999/resolve", headers=admin_headers)
    assert r.status_code == 404 and r.json()["code"] == "incident_not_found"


def _screen(db: Session, tree: Tree, site_id: int, seen_ago: float) -> None:
    db.add(ScreenDevice(site_id=site_id, name="Màn hình",
                        enrolled_at=utcnow(),
                        last_seen_at=utcnow() - timedelta(seconds=seen_ago)))
    db.commit()


def test_missing_list_gives_exact_sites_and_reasons(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    _screen(db, tree, tree.ward_a1, seen_ago=1)       # online and ready → not missing
    _screen(db, tree, tree.ward_a2, seen_ago=600)     # offline and not connected
    _screen(db, tree, tree.hub_a, seen_ago=1)         # online but an incident
    presence.record_transitions(db, timeout_seconds=45)
    client.patch(f"/api/v1/sites/{tree.ward_a1}", headers=admin_headers,
                 json={"readiness": "ready"})
    client.post(f"/api/v1/sites/{tree.hub_a}/incidents", headers=admin_headers,
                json={"reason": "Mất tiếng"})
    client.patch(f"/api/v1/sites/{tree.hub_b}", headers=admin_headers,
                 json={"readiness": "not_participating"})
    client.patch(f"/api/v1/sites/{tree.ward_b1}", headers=admin_headers,
                 json={"readiness": "tested"})
    r = client.get(f"/api/v1/conferences/{tree.cid}/missing", headers=admin_headers)
    assert r.status_code == 200
    got = {s["site_id"]: s["reasons"] for s in r.json()["sites"]}
    assert got == {
        tree.central: ["no_screen", "not_connected"],
        tree.hub_a: ["incident"],
        tree.ward_a2: ["offline", "not_connected"],
        tree.ward_b1: ["no_screen"],
    }


def test_missing_at_session_t_minus_15_uses_presence_history(
    client: TestClient, db: Session, tree: Tree, admin_headers: dict[str, str]
) -> None:
    _screen(db, tree, tree.ward_a1, seen_ago=1)
    presence.record_transitions(db, timeout_seconds=45)
    start = utcnow() + timedelta(minutes=5)  # T-15 was ten minutes ago: before it came online
    r = client.post(f"/api/v1/conferences/{tree.cid}/sessions", headers=admin_headers, json={
        "title": "Phiên khai mạc", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat()})
    assert r.status_code == 201, r.text
    r = client.get(f"/api/v1/conferences/{tree.cid}/missing",
                   params={"session_id": r.json()["id"]}, headers=admin_headers)
    ward = next(s for s in r.json()["sites"] if s["site_id"] == tree.ward_a1)
    assert ward["online"] is False and "offline" in ward["reasons"]
    now = client.get(f"/api/v1/conferences/{tree.cid}/missing", headers=admin_headers).json()
    ward_now = next(s for s in now["sites"] if s["site_id"] == tree.ward_a1)
    assert ward_now["online"] is True and ward_now["reasons"] == ["not_connected"]


def test_missing_list_is_limited_to_the_coordinators_subtree(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    r = client.get(f"/api/v1/conferences/{tree.cid}/missing",
                   headers=token_for(client, "hcm", "hcm-password"))
    assert {s["site_id"] for s in r.json()["sites"]} == {tree.hub_a, tree.ward_a1, tree.ward_a2}



def test_declare_ready_publishes_and_screen_state_counts_paired_screens(
    db: Session, admin: User, tree: Tree
) -> None:
    sent: list[tuple[str, str]] = []
    view = rollcall.declare_ready(db, site_id=tree.ward_a1, readiness=Readiness.ready,
                                  note="Ổn", actor=admin,
                                  publish=lambda ch, msg: sent.append((ch, msg)))
    assert view.part is not None and view.part.readiness == Readiness.ready
    assert [ch for ch, _ in sent] == [events.readiness_channel(tree.cid)]
    assert '"readiness":"ready"' in sent[0][1].replace(" ", "")
    assert rollcall.screen_state(db, site_id=tree.ward_a1) == rollcall.ScreenState(0, False)
    db.add(ScreenDevice(site_id=tree.ward_a1, name="Máy chiếu", enrolled_at=utcnow()))
    db.add(ScreenDevice(site_id=tree.ward_a1, name="Chờ ghép nối"))  # not paired yet
    db.commit()
    assert rollcall.screen_state(db, site_id=tree.ward_a1) == rollcall.ScreenState(1, False)


def test_ready_given_at_a_time_closes_incidents_then_never_before_they_opened(
    db: Session, admin: User, tree: Tree
) -> None:
    now = utcnow().replace(microsecond=0)
    early = rollcall.report_incident(db, site_id=tree.ward_a1, reason="Mất sóng", actor=admin,
                                     at=now - timedelta(minutes=30))
    late = rollcall.report_incident(db, site_id=tree.ward_a1, reason="Mất tiếng", actor=admin,
                                    at=now - timedelta(minutes=5))
    # A "ready" tapped offline 10 minutes ago, sent only now (the sync passes its time).
    rollcall.declare_ready(db, site_id=tree.ward_a1, readiness=Readiness.ready, actor=admin,
                           at=now - timedelta(minutes=10))
    db.refresh(early)
    db.refresh(late)
    assert early.resolved_at == now - timedelta(minutes=10)
    assert late.resolved_at == late.opened_at == now - timedelta(minutes=5)
    assert _readiness(db, tree, tree.ward_a1) == Readiness.ready
