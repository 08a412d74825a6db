"""Slide decks on disk: receive a PDF upload within a size limit, render its pages to PNG.

Pages are rendered once, at upload, at a width fit for a projector, so that
thousands of screens fetch static files instead of asking the server to render.
Files live in `<data_dir>/decks/<deck_id>/<key>/<page>.png`: a replacement deck gets
a new key and so a new folder, renamed into place in one step, and the old folder is
removed only after the database points at the new one.
"""

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.errors import AppError
from sessions import errors
from sessions.render_worker import RENDER_WIDTH as RENDER_WIDTH  # the width pages get

DEFAULT_RENDER_SECONDS = 120.0  # settings.deck_render_seconds overrides it
MAGIC_WINDOW = 1024  # PDF readers accept the %PDF- header anywhere in the first KiB
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the CSRF field
CHUNK = 1024 * 1024
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """An uploaded file written to disk, with its original name and the form's text fields."""

    path: Path
    filename: str
    size: int
    sha256: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class RenderedDeck:
    """A deck rendered into `folder`: pages 1.png … N.png."""

    folder: Path
    page_count: int
    width: int
    height: int


def new_key() -> str:
    """A random 128-bit URL-safe key: the capability that lets anyone holding it see the slides."""
    return secrets.token_urlsafe(16)


def decks_root(data_dir: Path) -> Path:
    """Where every deck's images live."""
    return data_dir / "decks"


def deck_folder(data_dir: Path, deck_id: int, key: str) -> Path:
    """The folder of one deck version's page images."""
    return decks_root(data_dir) / str(deck_id) / key


def page_url(deck_id: int, key: str, page: int) -> str:
    """The capability URL of one rendered page."""
    return f"/decks/{deck_id}/{key}/{page}.png"


def _scratch_dir(data_dir: Path) -> Path:
    # Scratch space on the same filesystem as the decks, so the final rename is atomic.
    path = decks_root(data_dir) / ".tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------ receiving


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise errors.DeckTooLarge()
        yield chunk


async def receive_pdf(request: Request, *, data_dir: Path, max_bytes: int) -> ReceivedFile:
    """Stream a multipart upload (`file` field) to a temp file, refusing it past `max_bytes`."""
    limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.DeckTooLarge()
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise errors.DeckUploadInvalid()
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=1, max_fields=5)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise errors.DeckUploadInvalid() from exc
    upload = form.get("file")
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    try:
        if not isinstance(upload, UploadFile):
            raise errors.DeckUploadInvalid()
        return _spill(upload, data_dir=data_dir, max_bytes=max_bytes, fields=fields)
    finally:
        await form.close()


def _spill(
    upload: UploadFile, *, data_dir: Path, max_bytes: int, fields: dict[str, str]
) -> ReceivedFile:
    # Starlette spooled the part to its own temp file already; copy it next to the decks
    # (bounded chunks) and hash it on the way.
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(suffix=".pdf", dir=_scratch_dir(data_dir))
    path = Path(name)
    try:
        with open(fd, "wb") as out:
            upload.file.seek(0)
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise errors.DeckTooLarge()
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = Path(upload.filename or "slides.pdf").name[:255] or "slides.pdf"
    return ReceivedFile(path, filename, size, digest.hexdigest(), fields)


# ------------------------------------------------------------------ rendering


def check_magic(path: Path) -> None:
    """Refuse anything that does not carry the PDF header, whatever its name says."""
    with path.open("rb") as f:
        head = f.read(MAGIC_WINDOW)
    if b"%PDF-" not in head:
        raise errors.DeckNotPdf()


# The child's answer codes, and what the server answers for each.
_ERRORS: dict[str, type[AppError]] = {
    "deck_broken": errors.DeckBroken,
    "deck_encrypted": errors.DeckEncrypted,
    "deck_too_many_pages": errors.DeckTooManyPages,
}


def render_pdf(
    source: Path, *, data_dir: Path, max_pages: int,
    render_seconds: float = DEFAULT_RENDER_SECONDS,
) -> RenderedDeck:
    """Render every page of `source` to PNG in a new scratch folder, within a time budget.

    The render runs in a child process (sessions.render_worker): past `render_seconds` it
    is killed, the scratch folder removed and the deck refused with `deck_render_timeout`.
    """
    check_magic(source)
    folder = Path(tempfile.mkdtemp(prefix="render-", dir=_scratch_dir(data_dir)))
    try:
        answer = _run_worker(source, folder, max_pages, render_seconds)
        if "error" in answer:
            error = _ERRORS.get(str(answer["error"]), errors.DeckBroken)
            raise error(str(answer.get("detail") or "") or None)
        return RenderedDeck(
            folder, int(answer["pages"]), int(answer["width"]), int(answer["height"])
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _worker_env() -> dict[str, str]:
    # The child imports `sessions` from wherever this server imported it.
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _run_worker(
    source: Path, folder: Path, max_pages: int, render_seconds: float
) -> dict[str, Any]:
    command = [sys.executable, "-m", "sessions.render_worker", str(source), str(folder),
               str(max_pages)]
    with subprocess.Popen(  # noqa: S603 - our interpreter, our module, our paths; no shell
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_worker_env(), start_new_session=True,
    ) as child:
        try:
            out, _err = child.communicate(timeout=render_seconds)
        except subprocess.TimeoutExpired:
            child.kill()  # SIGKILL: pdfium in a C loop does not check for signals it could catch
            child.communicate()
            raise errors.DeckRenderTimeout(
                f"Tệp PDF cần hơn {render_seconds:g} giây để dựng trang; "
                "hãy giảm số trang hoặc xuất lại tệp PDF nhẹ hơn.",
                seconds=render_seconds,
            ) from None
    try:
        answer = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = None
    if child.returncode != 0 or not isinstance(answer, dict):
        raise errors.DeckBroken()  # the renderer crashed (a damaged file can do that to pdfium)
    return answer


def install(rendered: RenderedDeck, *, data_dir: Path, deck_id: int, key: str) -> Path:
    """Move a rendered folder to its final place in one rename."""
    target = deck_folder(data_dir, deck_id, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    rendered.folder.rename(target)
    return target


def discard(folder: Path) -> None:
    """Remove a folder of page images; a missing folder is fine."""
    shutil.rmtree(folder, ignore_errors=True)


def remove_other_versions(data_dir: Path, deck_id: int, keep: str | None) -> None:
    """Delete every image folder of a deck except the `keep` key (None removes them all)."""
    parent = decks_root(data_dir) / str(deck_id)
    if not parent.is_dir():
        return
    for child in parent.iterdir():
        if child.name != keep:
            discard(child)
    if keep is None:
        with contextlib.suppress(OSError):
            parent.rmdir()


def page_file(data_dir: Path, deck_id: int, key: str, page: int) -> Path | None:
    """The PNG of one page, or None when it does not exist."""
    if not KEY_PATTERN.match(key) or page < 1:
        return None
    path = deck_folder(data_dir, deck_id, key) / f"{page}.png"
    return path if path.is_file() else None
