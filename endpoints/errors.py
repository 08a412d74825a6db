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
    detail = "Mã điểm cầu đã có trong danh mục điểm cầu (mã dùng chung cho mọi hội nghị)."


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


class SiteNotInConference(NotFound):
    code = "site_not_in_conference"
    detail = "Điểm cầu không tham gia hội nghị này."


class AlreadyInvited(AppError):
    status_code = 409
    code = "site_already_invited"
    detail = "Điểm cầu đã được mời tham gia hội nghị này."


class SiteHasAttendance(AppError):
    status_code = 409
    code = "site_has_attendance"
    detail = "Điểm cầu đã có đại biểu điểm danh hoặc báo cáo số lượng, không thể gỡ khỏi hội nghị."


class SiteInactive(AppError):
    status_code = 409
    code = "site_inactive"
    detail = "Điểm cầu đã sáp nhập hoặc giải thể."


class MergeIntoSubtree(AppError):
    status_code = 422
    code = "merge_into_subtree"
    detail = "Không thể sáp nhập điểm cầu vào chính nó hoặc một đơn vị trực thuộc nó."


class SiteHasLiveScreen(AppError):
    status_code = 409
    code = "site_has_live_screen"
    detail = "Điểm cầu đang có màn hình kết nối, hãy thu hồi màn hình trước khi giải thể."


class UnknownProvince(AppError):
    status_code = 422
    code = "unknown_province"
    detail = "Mã tỉnh/thành không có trong danh mục đơn vị hành chính."


class SiteActive(AppError):
    status_code = 409
    code = "site_active"
    detail = "Điểm cầu đang hoạt động, không cần khôi phục."


class NoticeTooLong(AppError):
    status_code = 422
    code = "notice_too_long"
    detail = "Thông báo xử lý dữ liệu cá nhân dài quá 20.000 ký tự."


class NoticeInvalid(AppError):
    status_code = 422
    code = "notice_invalid"
    detail = "Thông báo xử lý dữ liệu cá nhân chứa ký tự điều khiển không hợp lệ."


class RetentionOutOfRange(AppError):
    status_code = 422
    code = "retention_out_of_range"
    detail = "Thời gian lưu trữ phải là số ngày từ 1 đến 3.650."


class NoticeNotAccepted(AppError):
    status_code = 422
    code = "notice_not_accepted"
    detail = "Bạn cần đọc và đồng ý Thông báo xử lý dữ liệu cá nhân trước khi đăng ký."


class NoticeChanged(AppError):
    status_code = 409
    code = "notice_changed"
    detail = ("Thông báo xử lý dữ liệu cá nhân vừa được cập nhật; vui lòng đọc lại bản mới "
              "rồi xác nhận đồng ý.")
