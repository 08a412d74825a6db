"""The basis, supplier and time recorded for every attendee added (API, file import, the
import page, the service), and the one audit entry each batch leaves."""

import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from checkin import basis, errors, roster
from checkin.models import Attendee, AttendeeCreate
from tests.conftest import ADMIN_PASSWORD, Tree, token_for
from tests.endpoints.support import csrf, login

ROSTER = ("Họ và tên,Mã điểm cầu,Đơn vị\n"
          "Nguyễn Văn An,HCM-BN,Sở Y tế\nTrần Thị Bình,HCM-CG,\nLê Văn Cường,HCM-BN,\n")


def _attendees(db: Session, cid: int) -> list[Attendee]:
    db.rollback()  # see what the app wrote
    return list(db.exec(select(Attendee).where(Attendee.conference_id == cid)
                        .order_by(col(Attendee.id))).all())


def _entries(db: Session) -> list[AuditEntry]:
    db.rollback()
    return list(db.exec(select(AuditEntry).where(AuditEntry.object_type == "attendee")
                        .order_by(col(AuditEntry.id))).all())


def test_the_short_list_and_its_parsing() -> None:
    assert set(basis.BASES) == {"unit", "consent", "duty"}
    assert all(label and label[0].isupper() for label in basis.BASES.values())
    assert basis.parse_basis(None) == basis.parse_basis("  ") == basis.DEFAULT_BASIS == "unit"
    assert basis.parse_basis(" consent ") == "consent"
    with pytest.raises(errors.BasisRequired):
        basis.parse_basis("", required=True)
    for wrong in ("Unit", "đồng ý", "unit; drop table"):
        with pytest.raises(errors.BasisInvalid):
            basis.parse_basis(wrong)
    assert basis.basis_label(None) == "Chưa ghi nhận"


def test_api_add_records_basis_supplier_and_time(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    url = f"/api/v1/conferences/{tree.cid}/attendees"
    r = client.post(url, params={"basis": "consent"}, headers=headers,
                    json=[{"full_name": "Nguyễn Văn An", "site_id": tree.ward_a1}])
    assert r.status_code == 201, r.text
    answer = r.json()[0]
    assert (answer["basis"], answer["supplied_by_id"]) == ("consent", coordinator_a.id)
    assert answer["supplied_at"] is not None
    # Named none: the default, a roster sent by the attendee's unit.
    r = client.post(url, headers=headers,
                    json=[{"full_name": "Trần Thị Bình", "site_id": tree.ward_a2}])
    assert r.status_code == 201 and r.json()[0]["basis"] == "unit"
    # Unknown: refused, nothing added.
    r = client.post(url, params={"basis": "hợp đồng"}, headers=headers,
                    json=[{"full_name": "Lê Văn Cường", "site_id": tree.ward_a1}])
    assert (r.status_code, r.json()["code"]) == (422, "basis_invalid")
    rows = _attendees(db, tree.cid)
    assert [(a.full_name, a.basis, a.supplied_by_id) for a in rows] == [
        ("Nguyễn Văn An", "consent", coordinator_a.id),
        ("Trần Thị Bình", "unit", coordinator_a.id)]
    assert all(a.supplied_at is not None and a.supplied_at == a.created_at for a in rows)
    # One entry per call, none per row, with who did it.
    entries = _entries(db)
    assert [(e.action, e.actor_id, e.role, e.conference_id) for e in entries] == [
        ("create", coordinator_a.id, "coordinator", tree.cid)] * 2
    assert entries[0].detail == {"count": 1, "basis": "consent", "sites": [tree.ward_a1]}
    # Staff see the basis on one attendee too.
    one = client.get(f"/api/v1/attendees/{rows[0].id}", headers=headers).json()
    assert (one["basis"], one["supplied_by_id"]) == ("consent", coordinator_a.id)


def test_api_import_records_basis_and_one_audit_entry(
    client: TestClient, db: Session, tree: Tree, admin: User, admin_headers: dict[str, str]
) -> None:
    url = f"/api/v1/conferences/{tree.cid}/attendees/import"
    upload = {"file": ("ds.csv", io.BytesIO(ROSTER.encode()), "text/csv")}
    r = client.post(url, params={"basis": "banana"}, files=upload, headers=admin_headers)
    assert (r.status_code, r.json()["code"]) == (422, "basis_invalid")
    assert _attendees(db, tree.cid) == [] and _entries(db) == []
    upload = {"file": ("ds.csv", io.BytesIO(ROSTER.encode()), "text/csv")}
    r = client.post(url, params={"basis": "duty"}, files=upload, headers=admin_headers)
    assert r.status_code == 201, r.text
    rows = _attendees(db, tree.cid)
    assert len(rows) == 3
    assert {(a.basis, a.supplied_by_id) for a in rows} == {("duty", admin.id)}
    assert all(a.supplied_at is not None for a in rows)
    (entry,) = _entries(db)
    assert (entry.action, entry.actor_id, entry.role, entry.conference_id) == (
        "import", admin.id, "admin", tree.cid)
    assert entry.detail == {"count": 3, "basis": "duty",
                            "sites": sorted([tree.ward_a1, tree.ward_a2])}


def test_import_page_requires_the_basis_and_records_it(
    client: TestClient, db: Session, tree: Tree, coordinator_a: User
) -> None:
    login(client, "hcm", "hcm-password")
    url = f"/conferences/{tree.cid}/attendees/import"
    page = client.get(url)
    for key, label in basis.BASES.items():
        assert f'name="basis" value="{key}" required' in page.text and label in page.text

    def send(fields: dict[str, str]) -> str:
        r = client.post(url, data={"csrf_token": csrf(client), **fields},
                        files={"file": ("ds.csv", ROSTER.encode(), "text/csv")})
        return f"{r.status_code} {r.text}"

    assert send({}).startswith("422") and 'data-code="basis_required"' in send({})
    assert 'data-code="basis_invalid"' in send({"basis": "khác"})
    assert _attendees(db, tree.cid) == [] and _entries(db) == []
    done = send({"basis": "consent"})
    assert done.startswith("200") and "Đã nhập <strong>3</strong> đại biểu" in done
    rows = _attendees(db, tree.cid)
    assert {(a.basis, a.supplied_by_id) for a in rows} == {("consent", coordinator_a.id)}
    (entry,) = _entries(db)
    assert (entry.action, entry.actor_name, entry.detail) == (
        "import", "hcm", {"count": 3, "basis": "consent",
                          "sites": sorted([tree.ward_a1, tree.ward_a2])})


def test_the_service_records_its_actor_and_the_default_basis(
    db: Session, tree: Tree, admin: User
) -> None:
    roster.create_attendees(
        db, conference_id=tree.cid, actor=admin, load=False,
        items=[AttendeeCreate(full_name="Phạm Văn Dũng", site_id=tree.ward_b1)],
    )
    (row,) = _attendees(db, tree.cid)
    assert (row.basis, row.supplied_by_id) == ("unit", admin.id)
    assert _entries(db)[0].detail == {"count": 1, "basis": "unit", "sites": [tree.ward_b1]}


def test_the_pass_page_shows_where_the_data_came_from(
    client: TestClient, db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.post(f"/api/v1/conferences/{tree.cid}/attendees", params={"basis": "duty"},
                    json=[{"full_name": "Nguyễn Văn An", "site_id": tree.ward_a1}],
                    headers=headers)
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get(f"/attendees/{r.json()[0]['id']}/pass")
    assert page.status_code == 200
    provenance = page.text.split('id="provenance">')[1].split("</p>")[0]
    assert basis.BASES["duty"] in provenance and "Lê Thị Hồng" in provenance
    assert " lúc " in provenance
