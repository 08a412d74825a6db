"""Errors of reading the audit log."""

from app.errors import AppError


class BadAuditFilter(AppError):
    status_code = 422
    code = "audit_filter_invalid"
    detail = "Bộ lọc nhật ký không hợp lệ."
