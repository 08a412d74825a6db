"""POST /api/v1/conferences/{id}/participants: the report, and every refusal as a code."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from tests.conftest import ADMIN_PASSWORD, token_for
from tests.endpoints.participation_support import (
    Registry,
    invite_client,
    participants,
    snapshot,
)
from tests.endpoints.support import csrf, login


@pytest.fixture
def reg(db: Session, admin: User) -> Registry:
    return Registry(db, admin)


@pytest.fixture
def api(settings: Settings, reg: Registry) -> Iterator[TestClient]:
    with invite_client(settings) as client:
        yield client


def url(conference_id: int) -> str:
    return f"/api/v1/conferences/{conference_id}/participants"


@pytest.fixture
def admin_auth(api: TestClient) -> dict[str, str]:
    return token_for(api, "admin", ADMIN_PASSWORD)


def test_invite_all_then_again_reports_what_it_did(
    api: TestClient, reg: Registry, admin_auth: dict[str, str]
) -> None:
    r = api.post(url(reg.cid), json={"all": True}, headers=admin_auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"invited": 7, "already_in": 0, "total_in_conference": 7}
    r = api.post(url(reg.cid), json={"kind": "ward", "under_id": reg.hn}, headers=admin_auth)
    assert r.json() == {"invited": 0, "already_in": 3, "total_in_conference": 7}
    assert participants(reg.db, reg.cid) == reg.invitable


def test_picked_list_invites_with_ancestors(
    api: TestClient, reg: Registry, admin_auth: dict[str, str]
) -> None:
    r = api.post(url(reg.cid), json={"site_ids": [reg.hcm_commune]}, headers=admin_auth)
    assert r.json() == {"invited": 3, "already_in": 0, "total_in_conference": 3}
    assert participants(reg.db, reg.cid) == {reg.central, reg.hcm, reg.hcm_commune}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"site_ids": ["hcm_commune"]}, 409, "site_already_invited"),
    ({"site_ids": ["retired"]}, 409, "site_inactive"),
    ({"site_ids": ["pending", "hn_ward"]}, 409, "site_inactive"),
    ({"site_ids": [10_000]}, 404, "site_not_found"),
    ({"under_id": 10_000}, 404, "site_not_found"),
    ({"all": True, "kind": "ward"}, 422, "validation_error"),
    ({"all": True, "extra": 1}, 422, "validation_error"),
    ({}, 422, "validation_error"),
])
def test_refusals_change_nothing(
    api: TestClient, reg: Registry, admin_auth: dict[str, str],
    body: dict[str, object], status: int, code: str,
) -> None:
    api.post(url(reg.cid), json={"site_ids": [reg.hcm_commune]}, headers=admin_auth)
    before = snapshot(reg.db)
    if "site_ids" in body:
        body = {"site_ids": [getattr(reg, s) if isinstance(s, str) else s
                             for s in body["site_ids"]]}  # type: ignore[attr-defined]
    r = api.post(url(reg.cid), json=body, headers=admin_auth)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert snapshot(reg.db) == before


def test_unknown_conference_is_404(
    api: TestClient, reg: Registry, admin_auth: dict[str, str]
) -> None:
    r = api.post(url(reg.other_cid + 10), json={"all": True}, headers=admin_auth)
    assert (r.status_code, r.json()["code"]) == (404, "conference_not_found")


def test_only_the_central_office_with_a_login(api: TestClient, reg: Registry) -> None:
    reg.coordinator()
    r = api.post(url(reg.cid), json={"all": True})
    assert (r.status_code, r.json()["code"]) == (401, "not_authenticated")
    r = api.post(url(reg.cid), json={"under_id": reg.hcm},
                 headers=token_for(api, "hcm", "hcm-password"))
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")
    assert snapshot(reg.db) == []


def test_page_cookie_needs_the_csrf_header(api: TestClient, reg: Registry) -> None:
    login(api, "admin", ADMIN_PASSWORD)
    r = api.post(url(reg.cid), json={"all": True})
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")
    assert snapshot(reg.db) == []
    r = api.post(url(reg.cid), json={"all": True}, headers={"X-CSRF-Token": csrf(api)})
    assert r.status_code == 200 and r.json()["invited"] == 7
