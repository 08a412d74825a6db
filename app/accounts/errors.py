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


class PasswordTooShort(AppError):
    status_code = 422
    code = "password_too_short"
    detail = "Mật khẩu cần ít nhất 10 ký tự."


class PasswordIsUsername(AppError):
    status_code = 422
    code = "password_is_username"
    detail = "Mật khẩu không được trùng với tên đăng nhập."


class PasswordTooCommon(AppError):
    status_code = 422
    code = "password_too_common"
    detail = "Mật khẩu này quá phổ biến, dễ bị đoán; vui lòng chọn mật khẩu khác."


class WrongCurrentPassword(AppError):
    status_code = 422
    code = "wrong_current_password"
    detail = "Mật khẩu hiện tại không đúng."


class ResetLinkInvalid(AppError):
    status_code = 410
    code = "reset_link_invalid"
    detail = "Liên kết đặt lại mật khẩu không hợp lệ, đã dùng hoặc đã hết hạn."


class AccountNotFound(AppError):
    status_code = 404
    code = "account_not_found"
    detail = "Không tìm thấy tài khoản."


class CannotChangeOwnAccount(AppError):
    status_code = 409
    code = "cannot_change_own_account"
    detail = "Không thể tự khoá hoặc tự đăng xuất bắt buộc tài khoản của chính mình."


class AccountNotDisabled(AppError):
    status_code = 409
    code = "account_not_disabled"
    detail = "Chỉ mở khoá được tài khoản đang bị khoá."


class PasswordTooLong(AppError):
    status_code = 422
    code = "password_too_long"
    detail = "Mật khẩu dài tối đa 200 ký tự."


class PasswordMismatch(AppError):
    status_code = 422
    code = "password_mismatch"
    detail = "Hai lần nhập mật khẩu mới không khớp."
