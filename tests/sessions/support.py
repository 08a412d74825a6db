"""PDF builders and shared arrangements for the programme tests."""

import hashlib
import io
import struct
from datetime import UTC, date, datetime
from typing import Any

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.db import local_today
from app.errors import AppError
from endpoints.models import Conference
from sessions import service
from sessions.models import AgendaItemCreate, SessionCreate, StateUpdate
from tests.conftest import Tree

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def make_pdf(pages: int = 3, width: float = 960, height: float = 540) -> bytes:
    """A PDF of blank 16:9 pages, made by PDFium itself."""
    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(width, height).close()
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _padded(password: bytes) -> bytes:
    return (password + _PAD)[:32]


def make_encrypted_pdf(user_password: bytes = b"secret") -> bytes:
    """A one-page PDF that needs a password to open (Standard handler, RC4 40-bit, R2)."""
    owner = _padded(b"owner-" + user_password)
    o_value = _rc4(hashlib.md5(owner).digest()[:5], _padded(user_password))
    doc_id = b"0123456789abcdef"
    permissions = struct.pack("<i", -4)
    key = hashlib.md5(_padded(user_password) + o_value + permissions + doc_id).digest()[:5]
    u_value = _rc4(key, _PAD)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + o_value.hex().encode()
        + b"> /U <"
        + u_value.hex().encode()
        + b"> /P -4 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (
        b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\n"
        b"startxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, doc_id.hex().encode(), doc_id.hex().encode(), xref)
    )
    return bytes(out)


def create_session(
    client: TestClient, conference_id: int, headers: dict[str, str], title: str = "Phiên khai mạc"
) -> dict[str, Any]:
    """A session through the API."""
    r = client.post(
        f"/api/v1/conferences/{conference_id}/sessions",
        json={"title": title, "starts_at": "2025-09-09T08:00:00+07:00",
              "ends_at": "2025-09-09T11:30:00+07:00"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def add_item(
    client: TestClient, session_id: int, headers: dict[str, str], title: str, kind: str = "talk"
) -> dict[str, Any]:
    """An agenda item through the API."""
    r = client.post(
        f"/api/v1/sessions/{session_id}/agenda", json={"title": title, "kind": kind},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def upload(
    client: TestClient, item_id: int, headers: dict[str, str], content: bytes,
    filename: str = "slides.pdf",
) -> Any:
    """POST a deck as multipart."""
    return client.post(
        f"/api/v1/agenda-items/{item_id}/deck",
        files={"file": (filename, content, "application/pdf")},
        headers=headers,
    )


class Recorder:
    """A `publish` callable that remembers every (channel, message)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, channel: str, message: str) -> None:
        self.calls.append((channel, message))


def new_session(db: Session, tree: Tree, admin: User, title: str = "Phiên khai mạc") -> int:
    """A session of the tree's conference, 9 September 2025, 08:00–11:00 in Hanoi."""
    session = service.create_session(
        db,
        conference_id=tree.cid,
        data=SessionCreate(
            title=title,
            starts_at=datetime(2025, 9, 9, 1, 0, tzinfo=UTC),
            ends_at=datetime(2025, 9, 9, 4, 0, tzinfo=UTC),
        ),
        actor=admin,
    )
    assert session.id is not None
    return session.id


def new_items(db: Session, session_id: int, admin: User, *titles: str) -> list[int]:
    """Agenda items with these titles appended to a session; their ids."""
    ids = []
    for title in titles:
        item = service.create_agenda_item(
            db, session_id=session_id, data=AgendaItemCreate(title=title), actor=admin,
            publish=Recorder(),
        )
        assert item.id is not None
        ids.append(item.id)
    return ids


def error_code(exc: pytest.ExceptionInfo[AppError]) -> tuple[int, str]:
    """The status and stable code of a raised AppError."""
    return exc.value.status_code, exc.value.code


def state_update(**fields: Any) -> StateUpdate:
    """A stage command with only these fields set."""
    return StateUpdate.model_validate(fields)


def run_on(db: Session, conference_id: int, starts_on: date, ends_on: date | None = None) -> None:
    """Move a conference to these dates (a screen follows only the conference live today)."""
    conference = db.get(Conference, conference_id)
    assert conference is not None
    conference.starts_on, conference.ends_on = starts_on, ends_on or starts_on
    db.add(conference)
    db.commit()


def make_live(db: Session, conference_id: int) -> None:
    """Let a conference run today, so its sites' screens follow it."""
    run_on(db, conference_id, local_today())
