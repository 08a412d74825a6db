"""The site page's one-tap readiness buttons and connection-test checklist, on SQLite and
PostgreSQL."""

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.db import utcnow
from endpoints import site_changes
from endpoints.models import Incident, Readiness, SiteUpdate
from endpoints.screen_models import ScreenDevice, SitePresence
from tests.conftest import Tree
from tests.endpoints.support import login, participation, post


def _open_incidents(db: Session, site_id: int) -> list[str]:
    db.rollback()
    return [i.reason for i in db.exec(select(Incident).where(
        Incident.site_id == site_id, col(Incident.resolved_at).is_(None))).all()]


def test_one_tap_ready_with_a_note_then_an_incident_then_ready_again(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    url = f"/sites/{tree.ward_a1}/readiness?conference_id={tree.cid}"
    r = post(client, url, {"readiness": "ready", "note": "Đã thử hình và tiếng"})
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/sites/{tree.ward_a1}?conference_id={tree.cid}")
    page = client.get(r.headers["location"]).text
    assert "Đã ghi tình trạng: sẵn sàng." in page and "Đã thử hình và tiếng" in page
    part = participation(db, tree.cid, tree.ward_a1)
    assert (part.readiness, part.readiness_note) == (Readiness.ready, "Đã thử hình và tiếng")

    post(client, url, {"readiness": "incident", "note": ""})
    assert participation(db, tree.cid, tree.ward_a1).readiness == Readiness.incident
    assert _open_incidents(db, tree.ward_a1) == ["Điểm cầu báo sự cố"]

    # Tapping "Đã kiểm tra" says the problem is over: the incident closes.
    post(client, url, {"readiness": "tested"})
    assert participation(db, tree.cid, tree.ward_a1).readiness == Readiness.tested
    assert _open_incidents(db, tree.ward_a1) == []


def test_a_tap_on_the_desks_headcount_page_comes_back_to_it(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    page = client.get(f"/sites/{tree.ward_a1}/headcount?conference_id={tree.cid}").text
    assert 'id="readiness-form"' in page and 'name="back" value="headcount"' in page
    assert 'data-default-incident="Điểm cầu báo sự cố"' in page  # the reason queued offline
    url = f"/sites/{tree.ward_a1}/readiness?conference_id={tree.cid}"
    r = post(client, url, {"readiness": "incident", "note": "", "back": "headcount"})
    assert r.headers["location"].startswith(
        f"/sites/{tree.ward_a1}/headcount?conference_id={tree.cid}&msg=incident_reported")
    page = client.get(r.headers["location"]).text
    assert "Đã báo sự cố" in page and 'id="rd-current">sự cố<' in page
    r = post(client, url, {"readiness": "ready", "back": "headcount"})
    assert "/headcount?" in r.headers["location"] and "msg=declared_ready" in r.headers["location"]
    assert "Đã ghi tình trạng: sẵn sàng." in client.get(r.headers["location"]).text
    assert _open_incidents(db, tree.ward_a1) == []
    assert post(client, url, {"readiness": "ready", "back": "elsewhere"}).status_code == 422


def test_checklist_all_good_is_tested_and_a_missing_box_is_an_incident(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    url = f"/sites/{tree.ward_a1}/connection-test"
    r = post(client, url, {"picture": "true", "link": "true", "note": "rè"})
    assert "test_failed" in r.headers["location"]
    assert _open_incidents(db, tree.ward_a1) == ["Kiểm tra kết nối không đạt: âm thanh (rè)"]
    r = post(client, url, {"picture": "true", "sound": "true", "link": "true"})
    assert "test_passed" in r.headers["location"]
    assert participation(db, tree.cid, tree.ward_a1).readiness == Readiness.tested
    assert _open_incidents(db, tree.ward_a1) == []


def test_readiness_refusals(
    client: TestClient, db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    r = post(client, f"/sites/{tree.ward_a1}/readiness", {"readiness": "not_connected"})
    assert r.status_code == 422
    r = post(client, f"/sites/{tree.ward_a1}/readiness", {"readiness": "ready", "note": "x" * 201})
    assert r.status_code == 422
    assert post(client, f"/sites/{tree.ward_b1}/readiness", {"readiness": "ready"}
                ).status_code == 403
    site_changes.update_site(db, site_id=tree.ward_a2, actor=admin,
                             data=SiteUpdate(readiness=Readiness.not_participating))
    r = post(client, f"/sites/{tree.ward_a2}/readiness", {"readiness": "ready"})
    assert r.status_code == 409 and "không tham gia" in r.text


def test_ready_without_a_screen_online_says_why(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    post(client, f"/sites/{tree.ward_a1}/readiness", {"readiness": "ready"})
    page = client.get(f"/sites/{tree.ward_a1}").text
    assert "chưa ghép nối màn hình nào" in page
    db.add(ScreenDevice(site_id=tree.ward_a1, name="Máy chiếu", enrolled_at=utcnow()))
    db.commit()
    page = client.get(f"/sites/{tree.ward_a1}").text
    assert "chưa có màn hình trực tuyến" in page
    db.add(SitePresence(site_id=tree.ward_a1, online=True))
    db.commit()
    page = client.get(f"/sites/{tree.ward_a1}").text
    assert 'data-testid="ready-offline"' not in page


def test_saving_the_edit_form_keeps_the_readiness_note(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    post(client, f"/sites/{tree.ward_a1}/readiness", {"readiness": "ready", "note": "Ổn"})
    page = client.get(f"/sites/{tree.ward_a1}").text
    assert 'name="readiness_note"' not in page  # moved to the one-tap buttons
    r = post(client, f"/sites/{tree.ward_a1}", {
        "name": "Đảng ủy phường Bến Nghé", "kind": "ward", "room": "Phòng 2"})
    assert r.status_code == 303
    part = participation(db, tree.cid, tree.ward_a1)
    assert (part.readiness, part.readiness_note) == (Readiness.ready, "Ổn")
