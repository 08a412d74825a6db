"""Errors of the connection-point registry, each with a stable code."""

from app.errors import AppError, Forbidden, NotFound


class ConferenceNotFound(NotFound):
    code = "conference_not_found"
    detail = "Không tìm thấy hội nghị."


class SiteNotFound(NotFound):
    code = "site_not_found"
    detail = "Không tìm thấy điểm cầu."


class ParentNotFound(AppError):
    status_code = 422
    code = "parent_not_found"
    detail = "Điểm cầu cấp trên không tồn tại trong hội nghị này."


class SiteCycle(AppError):
    status_code = 422
    code = "site_cycle"
    detail = "Không thể đặt một điểm cầu làm cấp dưới của chính nó."


class DuplicateSiteCode(AppError):
    status_code = 409
    code = "duplicate_site_code"
    detail = "Mã điểm cầu đã tồn tại trong hội nghị này."


class SiteHasChildren(AppError):
    status_code = 409
    code = "site_has_children"
    detail = "Điểm cầu còn điểm cầu cấp dưới, không thể xoá."


class SiteOutOfScope(Forbidden):
    code = "site_out_of_scope"
    detail = "Bạn chỉ được xem và thay đổi điểm cầu do mình phụ trách."


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


class InviteInvalid(AppError):
    status_code = 404
    code = "invite_invalid"
    detail = "Liên kết mời không hợp lệ."


class InviteExpired(AppError):
    status_code = 410
    code = "invite_expired"
    detail = "Liên kết mời đã hết hạn."


class InviteUsed(AppError):
    status_code = 409
    code = "invite_used"
    detail = "Liên kết mời đã được sử dụng."


class RegistrationNotPending(AppError):
    status_code = 409
    code = "registration_not_pending"
    detail = "Đăng ký này đã được xử lý."
