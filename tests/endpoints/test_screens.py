"""Screen enrolment, pairing, revocation and presence counts, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.db import local_today, utcnow
from app.main import create_app
from endpoints import errors, screens
from endpoints import service as endpoints_service
from endpoints.screen_models import ScreenDevice
from tests.conftest import Tree, make_settings, token_for


def test_enroll_screen_token_identifies_site(db: Session, admin: User, tree: Tree) -> None:
    screen, token = screens.enroll_screen(db, site_id=tree.ward_a1, actor=admin)
    context = endpoints_service.screen_for_token(db, token=token)
    assert context is not None
    # The tree's conference is over: the screen belongs to its site and waits.
    assert (context.screen_id, context.site_id, context.conference_id) == (
        screen.id, tree.ward_a1, None,
    )
    tree.conference.starts_on = tree.conference.ends_on = local_today()
    db.add(tree.conference)
    db.commit()
    context = endpoints_service.screen_for_token(db, token=token)
    assert context is not None and context.conference_id == tree.cid
    assert context.site_name == "Đảng ủy phường Bến Nghé"


def test_screen_for_forged_token_is_none(db: Session, admin: User, tree: Tree) -> None:
    screens.enroll_screen(db, site_id=tree.ward_a1, actor=admin)
    assert endpoints_service.screen_for_token(db, token="scr_" + "A" * 43) is None
    assert endpoints_service.screen_for_token(db, token="garbage") is None
    assert endpoints_service.screen_for_token(db, token="scr_" + "x" * 5000) is None


def test_coordinator_enrolls_only_in_own_subtree(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    screen, _ = screens.enroll_screen(db, site_id=tree.ward_a2, actor=coordinator_a)
    assert screen.site_id == tree.ward_a2
    with pytest.raises(errors.SiteOutOfScope):
        screens.enroll_screen(db, site_id=tree.ward_b1, actor=coordinator_a)


def test_pairing_code_works_once(db: Session, admin: User, tree: Tree) -> None:
    _, code = screens.create_pairing_code(db, site_id=tree.hub_a, actor=admin)
    assert len(code) == 9 and code[4] == "-"
    screen, token = screens.pair_screen(db, code=code.lower().replace("-", " "))
    assert screen.site_id == tree.hub_a
    assert endpoints_service.screen_for_token(db, token=token) is not None
    with pytest.raises(errors.PairingCodeInvalid):
        screens.pair_screen(db, code=code)


def test_derived_pairing_code_is_shown_again_until_used(
    db: Session, admin: User, tree: Tree
) -> None:
    screen, code = screens.create_pairing_code(db, site_id=tree.hub_a, actor=admin,
                                               secret="s" * 32)
    assert screen.id is not None
    again = screens.pending_pairing_code(db, site_id=tree.hub_a, screen_id=screen.id,
                                         actor=admin, secret="s" * 32)
    assert again[1] == code
    # Another secret (a copied database without the key) derives nothing.
    other = screens.pending_pairing_code(db, site_id=tree.hub_a, screen_id=screen.id,
                                         actor=admin, secret="t" * 32)
    assert other[1] is None
    screens.pair_screen(db, code=code)
    used = screens.pending_pairing_code(db, site_id=tree.hub_a, screen_id=screen.id,
                                        actor=admin, secret="s" * 32)
    assert used[1] is None and used[0].enrolled_at is not None


def test_pending_code_of_expired_or_foreign_screen(
    db: Session, admin: User, tree: Tree
) -> None:
    screen, _ = screens.create_pairing_code(db, site_id=tree.ward_a1, actor=admin,
                                            secret="s" * 32)
    assert screen.id is not None
    with pytest.raises(errors.ScreenNotFound):
        screens.pending_pairing_code(db, site_id=tree.ward_a2, screen_id=screen.id,
                                     actor=admin, secret="s" * 32)
    screen.pairing_expires_at = utcnow() - timedelta(seconds=1)
    db.add(screen)
    db.commit()
    assert screens.pending_pairing_code(db, site_id=tree.ward_a1, screen_id=screen.id,
                                        actor=admin, secret="s" * 32)[1] is None


def test_expired_pairing_code_is_refused(db: Session, admin: User, tree: Tree) -> None:
    screen, code = screens.create_pairing_code(db, site_id=tree.hub_a, actor=admin)
    screen.pairing_expires_at = utcnow() - timedelta(seconds=1)
    db.add(screen)
    db.commit()
    with pytest.raises(errors.PairingCodeInvalid):
        screens.pair_screen(db, code=code)


def test_revoked_screen_token_stops_working(db: Session, admin: User, tree: Tree) -> None:
    screen, token = screens.enroll_screen(db, site_id=tree.ward_a1, actor=admin)
    screens.revoke_screen(db, screen_id=screen.id or 0, actor=admin)
    assert endpoints_service.screen_for_token(db, token=token) is None


def test_mark_seen_counts_online_and_reports_revoked(db: Session, admin: User, tree: Tree) -> None:
    s1, _ = screens.enroll_screen(db, site_id=tree.ward_a1, actor=admin)
    s2, _ = screens.enroll_screen(db, site_id=tree.ward_a1, actor=admin)
    s3, _ = screens.enroll_screen(db, site_id=tree.ward_b1, actor=admin)
    screens.revoke_screen(db, screen_id=s3.id or 0, actor=admin)
    revoked = screens.mark_seen(db, screen_ids=[s1.id or 0, s2.id or 0, s3.id or 0])
    assert revoked == {s3.id}
    assert screens.count_online(db, conference_id=tree.cid, actor=admin) == (2, 1)
    stale = db.get(ScreenDevice, s1.id)
    assert stale is not None
    stale.last_seen_at = utcnow() - timedelta(seconds=screens.ONLINE_SECONDS + 1)
    db.add(stale)
    db.commit()
    assert screens.count_online(db, conference_id=tree.cid, actor=admin) == (1, 1)


def test_screen_token_route_returns_201_with_token(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=admin_headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"].startswith("scr_") and body["site_id"] == tree.ward_a1
    r = client.get(f"/api/v1/sites/{tree.ward_a1}/screens", headers=admin_headers)
    assert [s["id"] for s in r.json()] == [body["screen_id"]]


def test_pair_route_limits_failed_attempts(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    for _ in range(10):
        r = client.post("/api/v1/screens/pair", json={"code": "WRONG-CODE"})
        assert r.status_code == 404
        assert r.json()["code"] == "pairing_code_invalid"
    r = client.post(f"/api/v1/sites/{tree.hub_a}/pairing-code", headers=admin_headers)
    code = r.json()["code"]
    r = client.post("/api/v1/screens/pair", json={"code": code})
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_attempts"


def test_pairing_misses_are_counted_across_workers(database_url: str) -> None:
    """Two app instances on one database (two workers): ten misses in all, not ten each,
    start the wait; the refusal says how long (Retry-After)."""
    settings = make_settings(database_url, throttle_backend="database")
    statuses: list[int] = []
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        for i in range(14):
            r = (one, two)[i % 2].post("/api/v1/screens/pair", json={"code": "WRONG-CODE"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1
                break
    assert statuses == [404] * 10 + [429], statuses


def test_pair_route_exchanges_code_for_token(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/pairing-code", headers=headers)
    assert r.status_code == 201
    r = client.post("/api/v1/screens/pair", json={"code": r.json()["code"]})
    assert r.status_code == 201
    assert r.json()["site_id"] == tree.ward_a1


def test_revoke_other_subtree_screen_is_refused(
    client: TestClient, tree: Tree, coordinator_a: User, admin_headers: dict[str, str]
) -> None:
    r = client.post(f"/api/v1/sites/{tree.ward_b1}/screen-token", headers=admin_headers)
    screen_id = r.json()["screen_id"]
    headers = token_for(client, "hcm", "hcm-password")
    r = client.delete(f"/api/v1/screens/{screen_id}", headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "site_out_of_scope"
