"""Slide decks: PDF checks, rendering to PNG, size limits, replacement, the image URLs."""

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session
from starlette.requests import Request

from app.config import Settings
from app.errors import AppError
from app.main import create_app
from sessions import decks
from tests.conftest import Tree, make_settings
from tests.sessions.support import (
    add_item,
    create_session,
    make_encrypted_pdf,
    make_live,
    make_pdf,
    upload,
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url, data_dir=tmp_path / "var", max_deck_bytes=200_000, max_deck_pages=5
    )


@pytest.fixture
def item(client: TestClient, tree: Tree, admin_headers: dict[str, str]) -> dict[str, Any]:
    session = create_session(client, tree.cid, admin_headers)
    return add_item(client, session["id"], admin_headers, "Báo cáo chuyên đề AI")


def _scratch(settings: Settings) -> list[Path]:
    folder = settings.data_dir / "decks" / ".tmp"
    return list(folder.iterdir()) if folder.exists() else []


def _pngs(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "decks").glob("[0-9]*/*/*.png"))


# --------------------------------------------------------------- rendering


def test_render_pdf_writes_one_png_per_page(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(make_pdf(3, 960, 540))
    rendered = decks.render_pdf(source, data_dir=tmp_path, max_pages=10)
    assert rendered.page_count == 3
    assert sorted(p.name for p in rendered.folder.iterdir()) == ["1.png", "2.png", "3.png"]
    with Image.open(rendered.folder / "1.png") as image:
        assert image.format == "PNG"
        assert image.size == (decks.RENDER_WIDTH, 900)
    assert (rendered.width, rendered.height) == (1600, 900)


def test_render_pdf_refuses_non_pdf_whatever_its_name(tmp_path: Path) -> None:
    source = tmp_path / "slides.pdf"
    source.write_bytes(b"PK\x03\x04 this is a pptx, not a pdf")
    with pytest.raises(AppError) as exc:
        decks.render_pdf(source, data_dir=tmp_path, max_pages=10)
    assert (exc.value.status_code, exc.value.code) == (415, "deck_not_pdf")


def test_render_pdf_leaves_no_scratch_folder_on_failure(tmp_path: Path) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(make_pdf(4))
    with pytest.raises(AppError):
        decks.render_pdf(source, data_dir=tmp_path, max_pages=3)
    assert list((tmp_path / "decks" / ".tmp").iterdir()) == []


# ------------------------------------------------------------------ upload


def test_upload_deck_renders_pages_and_answers_201(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], settings: Settings
) -> None:
    r = upload(client, item["id"], admin_headers, make_pdf(3), filename="Bài giảng AI.pdf")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["page_count"] == 3
    assert body["filename"] == "Bài giảng AI.pdf"
    assert len(body["sha256"]) == 64
    assert len(_pngs(settings)) == 3
    image = client.get(body["thumbnail_url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert "immutable" in image.headers["cache-control"]
    assert image.content.startswith(b"\x89PNG")
    listed = client.get(f"/api/v1/agenda-items/{item['id']}", headers=admin_headers).json()
    assert listed["deck"]["id"] == body["id"]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"GIF89a not a pdf at all", 415, "deck_not_pdf"),
        (b"%PDF-1.7\n1 0 obj << broken", 422, "deck_broken"),
        (make_encrypted_pdf(), 422, "deck_encrypted"),
        (make_pdf(6), 413, "deck_too_many_pages"),
    ],
    ids=["not-pdf", "broken", "encrypted", "too-many-pages"],
)
def test_upload_bad_deck_is_refused_with_its_code(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], settings: Settings,
    content: bytes, status: int, code: str,
) -> None:
    r = upload(client, item["id"], admin_headers, content)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert _pngs(settings) == []
    assert _scratch(settings) == []


def test_upload_over_limit_is_refused_413(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], settings: Settings
) -> None:
    big = make_pdf(1) + b"%" + b"x" * 400_000
    r = upload(client, item["id"], admin_headers, big)
    assert (r.status_code, r.json()["code"]) == (413, "deck_too_large")
    assert _scratch(settings) == []


def test_upload_over_limit_is_refused_while_streaming(tmp_path: Path) -> None:
    pulled = 0
    head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n")

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > 5000:  # 320 MB: the test fails if the server gets this far
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": head if pulled == 1 else b"x" * 65536,
                "more_body": True}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [
        (b"content-type", b"multipart/form-data; boundary=b")]}  # no Content-Length
    request = Request(scope, receive)
    with pytest.raises(AppError) as exc:
        asyncio.run(decks.receive_pdf(request, data_dir=tmp_path, max_bytes=200_000))
    assert exc.value.code == "deck_too_large"
    assert pulled < 10, "reading stopped right after the limit"
    assert list((tmp_path / "decks").glob("**/*.pdf")) == []


def test_upload_with_declared_huge_length_is_refused_before_reading(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    r = client.post(
        f"/api/v1/agenda-items/{item['id']}/deck",
        content=b"--b\r\n",
        headers={**admin_headers, "Content-Type": "multipart/form-data; boundary=b",
                 "Content-Length": str(500 * 1024 * 1024)},
    )
    assert (r.status_code, r.json()["code"]) == (413, "deck_too_large")


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"content": make_pdf(1), "headers": {"Content-Type": "application/pdf"}},
        {"files": {"other": ("a.pdf", make_pdf(1), "application/pdf")}},
        {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data"}},
    ],
    ids=["raw-body", "wrong-field", "no-boundary"],
)
def test_upload_without_file_field_is_refused_422(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], kwargs: dict[str, Any]
) -> None:
    headers = {**admin_headers, **kwargs.pop("headers", {})}
    r = client.post(f"/api/v1/agenda-items/{item['id']}/deck", headers=headers, **kwargs)
    assert (r.status_code, r.json()["code"]) == (422, "deck_upload_invalid")


def test_upload_to_unknown_item_is_404(
    client: TestClient, tree: Tree, admin_headers: dict[str, str]
) -> None:
    r = upload(client, 99999, admin_headers, make_pdf(1))
    assert (r.status_code, r.json()["code"]) == (404, "agenda_item_not_found")


def test_replacing_deck_swaps_images_and_updates_stage(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], settings: Settings
) -> None:
    first = upload(client, item["id"], admin_headers, make_pdf(4)).json()
    r = client.put(
        f"/api/v1/sessions/{item['session_id']}/state",
        json={"agenda_item_id": item["id"], "slide": 4}, headers=admin_headers,
    )
    assert r.json()["slide"]["number"] == 4
    second = upload(client, item["id"], admin_headers, make_pdf(2)).json()
    assert second["id"] == first["id"]
    assert second["thumbnail_url"] != first["thumbnail_url"]
    assert client.get(first["thumbnail_url"]).status_code == 404
    assert client.get(second["thumbnail_url"]).status_code == 200
    assert len(_pngs(settings)) == 2
    stage = client.get(f"/api/v1/conferences/{r.json()['conference_id']}/stage",
                       headers=admin_headers).json()
    assert stage["version"] == r.json()["version"] + 1
    assert (stage["slide"]["number"], stage["slide"]["count"]) == (2, 2)  # clamped to the new deck
    assert stage["slide"]["url"].startswith(second["thumbnail_url"].rsplit("/", 1)[0])


def test_deck_upload_publishes_new_slide_url_to_screens(
    client: TestClient, db: Session, item: dict[str, Any], admin_headers: dict[str, str],
    tree: Tree,
) -> None:
    make_live(db, tree.cid)
    client.put(f"/api/v1/sessions/{item['session_id']}/state",
               json={"agenda_item_id": item["id"]}, headers=admin_headers)
    r = client.post(f"/api/v1/sites/{tree.ward_a1}/screen-token", headers=admin_headers)
    token = r.json()["token"]
    with client.websocket_connect(f"/ws/screen?token={token}") as ws:
        snapshot = json.loads(ws.receive_text())
        assert snapshot["slide"] is None
        deck = upload(client, item["id"], admin_headers, make_pdf(2)).json()
        message = json.loads(ws.receive_text())
    assert message["type"] == "state" and message["version"] == snapshot["version"] + 1
    assert message["slide"] == {"number": 1, "count": 2, "url": deck["thumbnail_url"]}


def test_deleting_item_removes_its_images(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], settings: Settings
) -> None:
    upload(client, item["id"], admin_headers, make_pdf(2))
    r = client.delete(f"/api/v1/agenda-items/{item['id']}", headers=admin_headers)
    assert r.status_code == 204
    assert _pngs(settings) == []


# ------------------------------------------------------------------ images


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d, k, p: f"/decks/{d}/{'A' * len(k)}/{p}.png",
        lambda d, k, p: f"/decks/{d}/{k}/9.png",
        lambda d, k, p: f"/decks/{d}/{k}/0.png",
        lambda d, k, p: f"/decks/{d + 1}/{k}/{p}.png",
        lambda d, k, p: f"/decks/{d}/..%2F..%2F/{p}.png",
    ],
    ids=["bad-key", "past-last-page", "page-zero", "other-deck", "traversal"],
)
def test_deck_image_with_wrong_capability_is_404(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], mangle: Any
) -> None:
    deck = upload(client, item["id"], admin_headers, make_pdf(2)).json()
    _, _, deck_id, key, page = deck["thumbnail_url"].split("/")
    url = mangle(int(deck_id), key, int(page.removesuffix(".png")))
    assert client.get(url).status_code == 404


def test_deck_image_needs_no_login(
    client: TestClient, item: dict[str, Any], admin_headers: dict[str, str], settings: Settings
) -> None:
    deck = upload(client, item["id"], admin_headers, make_pdf(1)).json()
    with TestClient(create_app(settings)) as anonymous:
        assert anonymous.get(deck["thumbnail_url"]).status_code == 200


def test_coordinator_cannot_upload(
    client: TestClient, item: dict[str, Any], coordinator_a: Any
) -> None:
    from tests.conftest import token_for

    headers = token_for(client, "hcm", "hcm-password")
    r = upload(client, item["id"], headers, make_pdf(1))
    assert (r.status_code, r.json()["code"]) == (403, "admin_only")


# ------------------------------------------------------------ time budget


def test_render_over_its_time_budget_is_killed_and_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    children: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)
        children.append(child)
        return child

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    source = tmp_path / "in.pdf"
    source.write_bytes(make_pdf(3))
    started = time.monotonic()
    with pytest.raises(AppError) as exc:
        decks.render_pdf(source, data_dir=tmp_path, max_pages=10, render_seconds=0.05)
    assert (exc.value.status_code, exc.value.code) == (422, "deck_render_timeout")
    assert time.monotonic() - started < 5
    [child] = children
    assert child.returncode == -signal.SIGKILL  # stopped, not left running in the background
    assert list((tmp_path / "decks" / ".tmp").iterdir()) == []


def test_upload_over_the_render_budget_is_refused_with_its_code(
    item: dict[str, Any], admin_headers: dict[str, str], settings: Settings
) -> None:
    tight = settings.model_copy(update={"deck_render_seconds": 0.05})
    with TestClient(create_app(tight)) as client:
        r = upload(client, item["id"], admin_headers, make_pdf(3))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "deck_render_timeout"
        deck = client.get(f"/api/v1/agenda-items/{item['id']}/deck", headers=admin_headers)
        assert deck.status_code == 404
    assert _pngs(settings) == [] and _scratch(settings) == []
