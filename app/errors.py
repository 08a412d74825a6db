"""Typed application errors and their renderers (JSON for /api, HTML for pages)."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base error: an HTTP status, a stable machine `code`, a Vietnamese `detail`."""

    status_code = 400
    code = "bad_request"
    detail = "Yêu cầu không hợp lệ."
    headers: dict[str, str] = {}  # noqa: RUF012 - never mutated; instances assign their own

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or type(self).detail
        self.extra = extra
        super().__init__(self.detail)


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    detail = "Không tìm thấy."


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    detail = "Bạn cần đăng nhập."


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    detail = "Bạn không có quyền thực hiện thao tác này."


class CsrfFailed(AppError):
    status_code = 403
    code = "csrf_failed"
    detail = "Phiên biểu mẫu đã hết hạn, vui lòng tải lại trang và thử lại."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    detail = "Dữ liệu gửi lên quá lớn."


DATABASE_DOWN = "Cơ sở dữ liệu tạm thời không truy cập được, vui lòng thử lại sau ít giây."

_HTTP_CODES = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("not_authenticated", "Bạn cần đăng nhập."),
    403: ("forbidden", "Bạn không có quyền thực hiện thao tác này."),
    404: ("not_found", "Không tìm thấy."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    413: ("payload_too_large", "Dữ liệu gửi lên quá lớn."),
    415: ("unsupported_media_type", "Định dạng dữ liệu không được hỗ trợ."),
    429: ("too_many_requests", "Quá nhiều yêu cầu, vui lòng thử lại sau."),
}

_VALIDATION_MESSAGES = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép",
    "string_too_long": "quá dài",
    "string_too_short": "quá ngắn",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "enum": "giá trị không nằm trong danh sách cho phép",
    "literal_error": "giá trị không nằm trong danh sách cho phép",
    "date_from_datetime_parsing": "ngày không hợp lệ (YYYY-MM-DD)",
    "date_parsing": "ngày không hợp lệ (YYYY-MM-DD)",
    "json_invalid": "JSON không hợp lệ",
    "model_attributes_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
    "list_type": "phải là một danh sách",
    "string_type": "phải là chuỗi ký tự",
}


def data_error_code(exc: Exception) -> tuple[str, str]:
    """The stable code and message for a value the database cannot store or compare.

    Input that passed validation can still be out of the database's reach: an integer
    beyond SQLite's 64 bits (OverflowError) or PostgreSQL's INTEGER columns, a NUL byte in
    PostgreSQL text. That is bad input (422), never a server error.
    """
    text = str(getattr(exc, "orig", None) or exc)
    if "NUL" in text or "0x00" in text:
        return "invalid_characters", "Dữ liệu chứa ký tự không hợp lệ (NUL)."
    if isinstance(exc, OverflowError) or "out of range" in text:
        return "value_out_of_range", "Giá trị số vượt quá giới hạn cho phép."
    return "invalid_value", "Dữ liệu có giá trị không hợp lệ."


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/healthz", "/openapi"))


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The JSON error shape of CONTRACT.md: `{"code": ..., "detail": ...}`."""
    return {"code": code, "detail": detail, **extra}


def _render(request: Request, status: int, code: str, detail: str, **extra: Any) -> Response:
    if _is_api(request):
        return JSONResponse(error_body(code, detail, **extra), status_code=status)
    # Imported late: templating imports settings and would make a cycle at import time.
    from app.templating import render_error_page

    return render_error_page(request, status=status, code=code, detail=detail)


def describe_validation(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors with a Vietnamese message next to pydantic's own."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        ctx = err.get("ctx") or {}
        message = ctx.get("error") if err.get("type") == "value_error" else None
        out.append(
            {
                "field": ".".join(loc),
                "type": err.get("type"),
                "message": str(
                    message or _VALIDATION_MESSAGES.get(err.get("type", ""), err.get("msg"))
                ),
            }
        )
    return out


_VALIDATION_BODY_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    # `errors` (per field) comes with validation_error; other 422 codes carry code and detail.
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "title": "Code"},
        "detail": {"type": "string", "title": "Detail"},
        "errors": {
            "type": "array",
            "title": "Errors",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def _document_validation_errors(app: FastAPI) -> None:
    """Make /openapi.json describe the 422 body we send, not FastAPI's default one."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = build().get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = _VALIDATION_BODY_SCHEMA
                schemas.pop("ValidationError", None)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def app_error_response(request: Request, exc: AppError) -> Response:
    """How every `AppError` is answered (JSON for the API, a page otherwise)."""
    response = _render(request, exc.status_code, exc.code, exc.detail, **exc.extra)
    response.headers.update(exc.headers)  # e.g. Retry-After of a 429
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Render every error once per transport; nothing leaks as a bare 500."""
    _document_validation_errors(app)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return app_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = describe_validation(list(exc.errors()))
        first = errors[0] if errors else {"field": "", "message": ""}
        detail = f"Dữ liệu không hợp lệ: {first['field']} {first['message']}".strip()
        if _is_api(request):
            return JSONResponse(
                error_body("validation_error", detail, errors=errors), status_code=422
            )
        return _render(request, 422, "validation_error", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code, detail = _HTTP_CODES.get(exc.status_code, ("http_error", "Yêu cầu không hợp lệ."))
        response = _render(request, exc.status_code, code, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _data(request: Request, exc: Exception) -> Response:
        code, detail = data_error_code(exc)
        log.warning("refused a value on %s: %s", request.url.path, exc)
        return _render(request, 422, code, detail)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DisconnectionError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, exc: Exception) -> Response:
        # PostgreSQL restarting or unreachable (or a SQLite lock held past its busy
        # timeout): a passing state, not a server bug. The message names the error class
        # only; hide_parameters keeps values out of it anyway.
        log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
        response = _render(request, 503, "database_unavailable", DATABASE_DOWN)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _render(request, 500, "internal_error", "Lỗi máy chủ, vui lòng thử lại.")
