"""Rendering a PDF deck to PNG pages, run as a child process: `python -m sessions.render_worker
<source> <folder> <max_pages>`.

A separate process so the server can stop a render that runs past its time budget (a
thread cannot be killed) and so a crash inside pdfium takes only this process with it.
It prints one JSON line: {"pages", "width", "height"} or {"error": <code>, "detail": …}.
Imports nothing of the web stack, to start quickly.
"""

import json
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

RENDER_WIDTH = 1600  # px; a 1080p/WUXGA projector shows this without visible scaling


class RenderError(Exception):
    """A deck that cannot be rendered; `code` is the error code the server answers with."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise RenderError("deck_encrypted") from exc
        raise RenderError("deck_broken") from exc


def _render_page(pdf: pdfium.PdfDocument, index: int, target: Path) -> tuple[int, int]:
    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        raise RenderError("deck_broken") from exc
    try:
        page_width, page_height = page.get_size()
        if page_width <= 0 or page_height <= 0:
            raise RenderError("deck_broken")
        scale = RENDER_WIDTH / page_width
        # Absurd page shapes would make huge bitmaps: cap the height too.
        scale = min(scale, 4 * RENDER_WIDTH / page_height)
        bitmap = page.render(scale=scale)
        try:
            image = bitmap.to_pil()
            image.save(target, format="PNG", optimize=False, compress_level=6)
            size: tuple[int, int] = image.size
            return size
        finally:
            bitmap.close()
    except pdfium.PdfiumError as exc:
        raise RenderError("deck_broken") from exc
    finally:
        page.close()


def render(source: Path, folder: Path, max_pages: int) -> dict[str, int]:
    """Render every page of `source` into `folder` as 1.png … N.png, one page at a time."""
    pdf = _open(source)
    try:
        count = len(pdf)
        if count == 0:
            raise RenderError("deck_broken")
        if count > max_pages:
            raise RenderError(
                "deck_too_many_pages", f"Tệp PDF có {count} trang, tối đa {max_pages} trang."
            )
        width = height = 0
        for index in range(count):
            w, h = _render_page(pdf, index, folder / f"{index + 1}.png")
            if index == 0:
                width, height = w, h
        return {"pages": count, "width": width, "height": height}
    finally:
        pdf.close()


def main(argv: list[str]) -> int:
    """Render, print the JSON answer; the exit status is 0 for an answer, 2 for bad usage."""
    if len(argv) != 3:
        print("usage: python -m sessions.render_worker SOURCE FOLDER MAX_PAGES", file=sys.stderr)
        return 2
    try:
        answer: dict[str, object] = dict(render(Path(argv[0]), Path(argv[1]), int(argv[2])))
    except RenderError as exc:
        answer = {"error": exc.code, "detail": exc.detail}
    print(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
