"""Uploaded files: reading one with a byte limit enforced while the body streams in, and
the import flow and result context the import pages share."""

from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.deps import check_streamed_csrf
from app.errors import AppError, CsrfFailed
from app.tabular import errors
from app.tabular.report import ImportReport

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
# Not text/plain: a cross-site HTML form can send it without a CORS preflight.
_RAW_TYPES = {
    "text/csv": "upload.csv",
    "application/csv": "upload.csv",
    "application/vnd.ms-excel": "upload.csv",  # what Windows browsers send for .csv
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "upload.xlsx",
    "application/octet-stream": "upload.csv",
}


@dataclass(frozen=True)
class Upload:
    """One uploaded file and the plain form fields sent with it."""

    filename: str
    data: bytes
    fields: dict[str, str]


async def _limited(request: Request, limit: int, max_bytes: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            # Stop reading here: the rest of a 50 MB body is never buffered.
            raise errors.file_too_large(max_bytes)
        yield chunk


async def read_upload(
    request: Request, *, max_bytes: int, field: str = "file", filename: str | None = None
) -> Upload:
    """The file of a multipart form (field `field`) or a raw CSV/XLSX body, at most
    `max_bytes`; refuses larger bodies from Content-Length or while streaming."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    multipart = content_type == "multipart/form-data"
    limit = max_bytes + (MULTIPART_OVERHEAD if multipart else 0)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.file_too_large(max_bytes)
    if multipart:
        return await _multipart(request, limit=limit, max_bytes=max_bytes, field=field)
    if content_type not in _RAW_TYPES:
        raise errors.UnsupportedFile(
            "Gửi tệp dưới dạng multipart/form-data (trường “file”) hoặc thân yêu cầu text/csv."
        )
    data = b"".join([chunk async for chunk in _limited(request, limit, max_bytes)])
    return Upload(filename=filename or _RAW_TYPES[content_type], data=data, fields={})


async def _multipart(request: Request, *, limit: int, max_bytes: int, field: str) -> Upload:
    parser = MultiPartParser(
        request.headers, _limited(request, limit, max_bytes), max_files=1, max_fields=20,
        max_part_size=64 * 1024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise errors.UnsupportedFile("Dữ liệu tải lên không hợp lệ (multipart hỏng).") from exc
    try:
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            raise errors.UnsupportedFile(f"Chưa chọn tệp để tải lên (trường “{field}”).")
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise errors.file_too_large(max_bytes)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        return Upload(filename=upload.filename or "", data=data, fields=fields)
    finally:
        await form.close()


async def import_upload(
    request: Request,
    *,
    run: Callable[..., ImportReport],
    max_bytes: int,
    filename: str | None = None,
) -> ImportReport:
    """Read the uploaded file, then run the import use case on it in a worker thread."""
    upload = await read_upload(request, max_bytes=max_bytes, filename=filename)
    return await run_in_threadpool(
        run, filename=upload.filename, data=upload.data, max_bytes=max_bytes
    )


async def import_page(
    request: Request,
    *,
    run: Callable[..., ImportReport],
    page: Callable[..., Response],
    max_bytes: int,
    passthrough: tuple[type[Exception], ...] = (),
    fields: tuple[str, ...] = (),
) -> Response:
    """The HTML import flow shared by the site-tree and roster pages: read the upload and
    check its form's CSRF field, run the import in a worker thread (with the form's
    `fields`, "" when absent, as keyword arguments), then render `page(report=…)`, or
    `page(error=…, status=…)` for a refusal. A CSRF failure and the errors in
    `passthrough` (an unknown conference) go to the app's handlers instead."""
    try:
        upload = await read_upload(request, max_bytes=max_bytes)
        check_streamed_csrf(request, upload.fields)
        given = {name: upload.fields.get(name, "") for name in fields}
        report = await run_in_threadpool(
            run, filename=upload.filename, data=upload.data, max_bytes=max_bytes, **given
        )
    except AppError as exc:
        if isinstance(exc, (CsrfFailed, *passthrough)):
            raise
        return await run_in_threadpool(page, error=exc, status=exc.status_code)
    return await run_in_threadpool(page, report=report)


def result_context(report: ImportReport | None, error: AppError | None) -> dict[str, Any]:
    """What an import page shows of the last upload: the report, or the refusal with its
    line errors and warnings (both pages render them with the same template parts)."""
    extra = error.extra if error else {}
    return {
        "report": asdict(report) if report else None,
        "error": error.detail if error else None,
        "error_code": error.code if error else None,
        "line_errors": extra.get("errors", []),
        "error_count": extra.get("error_count", 0),
        "warnings": extra.get("warnings", []) if error else [],
    }
