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


class ScreenNotFound(NotFound):
    code = "screen_not_found"
    detail = "Không tìm thấy màn hình."


class PairingCodeInvalid(AppError):
    status_code = 404
    code = "pairing_code_invalid"
    detail = "Mã ghép nối không đúng hoặc đã hết hạn."


class IncidentNotFound(NotFound):
    code = "incident_not_found"
    detail = "Không tìm thấy sự cố."


class SiteNotParticipating(AppError):
    status_code = 409
    code = "site_not_participating"
    detail = "Điểm cầu đã được đánh dấu không tham gia hội nghị."
