"""Errors of logging in and of accounts."""

from app.errors import AppError, Forbidden


class AdminOnly(Forbidden):
    code = "admin_only"
    detail = "Chỉ ban tổ chức mới được thực hiện thao tác này."


class InvalidCredentials(AppError):
    status_code = 401
    code = "invalid_credentials"
    detail = "Tên đăng nhập hoặc mật khẩu không đúng."


class AccountNotActive(AppError):
    status_code = 403
    code = "account_not_active"
    detail = "Tài khoản chưa được duyệt hoặc đã bị khoá."


class UsernameTaken(AppError):
    status_code = 409
    code = "username_taken"
    detail = "Tên đăng nhập đã được dùng, vui lòng chọn tên khác."


class TooManyAttempts(AppError):
    status_code = 429
    code = "too_many_attempts"
    detail = "Thử sai quá nhiều lần, vui lòng đợi một phút rồi thử lại."
