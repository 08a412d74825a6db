"""Every ORM write lands in the chained log, with personal values sealed and secrets hidden."""

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401 - every table registered
from app.audit import keys
from app.audit.models import AuditEntry, AuditKey
from app.audit.policy import HIDDEN, declared
from app.audit.verify import verify
from checkin.models import Attendee
from endpoints.models import Conference


def _entries(db: Session, object_type: str) -> list[AuditEntry]:
    db.rollback()
    query = select(AuditEntry).where(AuditEntry.object_type == object_type)  # type: ignore[arg-type]
    return list(db.execute(query.order_by(AuditEntry.id.asc())).scalars())  # type: ignore[union-attr]


def test_every_table_declares_what_the_log_keeps() -> None:
    tables = {t.name for t in SQLModel.metadata.sorted_tables} - {"audit_log", "audit_key"}
    assert tables - declared() == set()


def test_a_write_over_http_is_logged_with_its_actor_and_address(
    client: TestClient, admin_headers: dict[str, str], db: Session, engine: Engine
) -> None:
    headers = admin_headers
    made = client.post("/api/v1/conferences", headers=headers, json={
        "title": "Hội nghị A", "starts_on": "2026-12-20", "ends_on": "2026-12-20"})
    assert made.status_code == 201, made.text
    entry = _entries(db, "conference")[-1]
    assert (entry.action, entry.role, entry.actor_name) == ("create", "admin", "admin")
    assert entry.address == "testclient"
    assert entry.conference_id == made.json()["id"]
    assert entry.after is not None and entry.after["title"] == "Hội nghị A"
    assert verify(engine).ok


def test_personal_values_are_sealed_and_unreadable_once_forgotten(
    db: Session, engine: Engine
) -> None:
    with Session(engine) as w:
        conf = Conference(title="T", starts_on=date(2026, 12, 20), ends_on=date(2026, 12, 20))
        w.add(conf)
        w.commit()
        assert conf.id is not None
        person = Attendee(conference_id=conf.id, site_id=_site(w), full_name="Nguyễn Văn An",
                          name_key="nguyen van an", sort_key="00", phone="0912345678",
                          short_code="ABCDEFGH")
        w.add(person)
        w.commit()
        subject = keys.subject_of("attendee", person.id)
    entry = _entries(db, "attendee")[-1]
    assert entry.after is not None
    assert "Nguyễn" not in str(entry.after) and "0912345678" not in str(entry.after)
    assert "name_key" not in entry.after  # derived copies are not kept
    key = db.get(AuditKey, subject)
    assert key is not None
    assert keys.unseal(key.key, entry.after["full_name"]) == "Nguyễn Văn An"
    with Session(engine) as w:
        assert keys.forget(w.connection(), [subject]) == 1
        w.commit()
    assert keys.unseal(None, entry.after["full_name"]) == keys.ERASED
    assert verify(engine).ok  # forgetting a key changes no entry


def _site(w: Session) -> int:
    from endpoints.models import Site, SiteKind
    site = Site(name="Phường A", name_key="phuong a", kind=SiteKind.ward)
    w.add(site)
    w.commit()
    assert site.id is not None
    return site.id


def test_secrets_are_never_written(client: TestClient, db: Session) -> None:
    entry = next(e for e in _entries(db, "user_account") if e.action == "create")
    assert entry.after is not None and entry.after["password_hash"] == HIDDEN


def test_the_log_refuses_update_and_delete(
    engine: Engine, admin_headers: dict[str, str]
) -> None:
    for statement in ("UPDATE audit_log SET role = 'x'", "DELETE FROM audit_log"):
        with Session(engine) as w:
            try:
                w.execute(text(statement))
                w.commit()
            except Exception as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{statement} was allowed")
