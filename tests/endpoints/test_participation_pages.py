"""The "Mời điểm cầu từ danh mục" page: each way to invite, the report, the refusals."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.endpoints.participation_support import (
    Registry,
    invite_client,
    participants,
    snapshot,
)
from tests.endpoints.support import login, post


@pytest.fixture
def reg(db: Session, admin: User) -> Registry:
    return Registry(db, admin)


@pytest.fixture
def pages(settings: Settings, reg: Registry) -> Iterator[TestClient]:
    with invite_client(settings) as client:
        login(client, "admin", ADMIN_PASSWORD)
        yield client


def url(reg: Registry) -> str:
    return f"/conferences/{reg.cid}/invite-sites"


def test_form_offers_each_way_and_the_hubs(pages: TestClient, reg: Registry) -> None:
    r = pages.get(url(reg))
    assert r.status_code == 200
    assert "Mời điểm cầu từ danh mục" in r.text and 'name="csrf_token"' in r.text
    for mode in ("all", "under", "kind", "codes"):
        assert f'value="{mode}"' in r.text
    assert f'<option value="{reg.hcm}">Điểm cầu TP. Hồ Chí Minh (HCM)</option>' in r.text
    assert f'<option value="{reg.hcm_ward}"' not in r.text  # a ward is no branch to pick
    assert "Hội nghị đang có <strong>0</strong> điểm cầu" in r.text


@pytest.mark.parametrize(("form", "wanted"), [
    ({"mode": "all"}, "invitable"),
    ({"mode": "under", "under_id": "hn"}, {"central", "hn", "hn_ward", "hn_dept"}),
    ({"mode": "kind", "kind": "commune"}, {"central", "hcm", "hcm_commune"}),
    ({"mode": "kind", "kind": "ward", "kind_under_id": "hn"}, {"central", "hn", "hn_ward"}),
    ({"mode": "codes", "codes": "HN-SNV\r\n\r\n  HCM-SG \n"},
     {"central", "hn", "hn_dept", "hcm", "hcm_ward"}),
])
def test_each_way_invites_and_shows_the_report(
    pages: TestClient, reg: Registry, form: dict[str, str], wanted: str | set[str]
) -> None:
    data = {k: str(getattr(reg, v)) if k.endswith("under_id") else v for k, v in form.items()}
    r = post(pages, url(reg), data)
    assert r.status_code == 200, r.text
    ids = reg.invitable if wanted == "invitable" else {getattr(reg, n) for n in wanted}
    assert participants(reg.db, reg.cid) == ids
    assert f"Đã mời <strong>{len(ids)}</strong> điểm cầu" in r.text
    assert f"Hội nghị hiện có <strong>{len(ids)}</strong> điểm cầu" in r.text


def test_bulk_again_reports_the_skipped(pages: TestClient, reg: Registry) -> None:
    post(pages, url(reg), {"mode": "kind", "kind": "ward"})
    r = post(pages, url(reg), {"mode": "all"})
    assert "Đã mời <strong>2</strong> điểm cầu; <strong>5</strong> điểm cầu đã có" in r.text


@pytest.mark.parametrize(("form", "status", "code", "shown"), [
    ({"mode": "codes", "codes": "HN-HK\nKHONG-CO"}, 404, "site_not_found", "KHONG-CO"),
    ({"mode": "codes", "codes": "HCM-BN"}, 409, "site_inactive", "Đảng ủy phường Bến Nghé"),
    ({"mode": "codes", "codes": "HCM-CG\nHCM-SG"}, 409, "site_already_invited",
     "Đảng ủy phường Sài Gòn (HCM-SG)"),
    ({"mode": "codes", "codes": " \n"}, 422, "invalid_selection", "ít nhất một mã"),
    ({"mode": "under"}, 422, "invalid_selection", "cấp tỉnh/thành"),
    ({"mode": "kind"}, 422, "validation_error", "Chọn đúng một cách mời"),
    ({"mode": "kind", "kind": "tỉnh"}, 422, "validation_error", "Loại điểm cầu"),
    ({"mode": "under", "under_id": "abc"}, 422, "validation_error", "số nguyên"),
    ({"mode": "under", "under_id": "99999"}, 404, "site_not_found", "Không tìm thấy"),
    ({}, 422, "invalid_selection", "Hãy chọn một cách mời"),
])
def test_refusals_are_shown_and_change_nothing(
    pages: TestClient, reg: Registry, form: dict[str, str], status: int, code: str,
    shown: str,
) -> None:
    post(pages, url(reg), {"mode": "codes", "codes": "HCM-SG"})
    before = snapshot(reg.db)
    r = post(pages, url(reg), form)
    assert r.status_code == status, r.text
    assert f'data-code="{code}"' in r.text and shown in r.text
    assert "Chưa có điểm cầu nào được mời." in r.text
    assert f'value="{form.get("mode", "")}" checked' in r.text or not form
    assert snapshot(reg.db) == before


def test_too_many_codes_are_refused(pages: TestClient, reg: Registry) -> None:
    codes = "\n".join(f"C{i}" for i in range(5_001))
    r = post(pages, url(reg), {"mode": "codes", "codes": codes})
    assert r.status_code == 422 and "tối đa 5.000 mã" in r.text
    assert snapshot(reg.db) == []


def test_without_csrf_or_as_coordinator_refused(pages: TestClient, reg: Registry) -> None:
    r = pages.post(url(reg), data={"mode": "all", "csrf_token": "forged"})
    assert r.status_code == 403
    reg.coordinator()
    pages.cookies.clear()
    login(pages, "hcm", "hcm-password")
    assert pages.get(url(reg)).status_code == 403
    assert post(pages, url(reg), {"mode": "all"}).status_code == 403
    assert snapshot(reg.db) == []


def test_unknown_conference_is_404(pages: TestClient, reg: Registry) -> None:
    assert pages.get(f"/conferences/{reg.other_cid + 10}/invite-sites").status_code == 404
    r = post(pages, f"/conferences/{reg.other_cid + 10}/invite-sites", {"mode": "all"})
    assert r.status_code == 404
    assert snapshot(reg.db) == []
