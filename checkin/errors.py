"""Errors of check-in, each with a stable code (scanner apps switch on `code`)."""

from app.errors import AppError, NotFound


class PassError(AppError):
    """A scanned code that cannot be used; the reason is the `code`."""


class PassMalformed(PassError):
    status_code = 400
    code = "pass_malformed"
    detail = "Mã vừa quét không phải thẻ đại biểu hợp lệ (hỏng, thiếu hoặc quá dài)."


class PassUnknownKey(PassError):
    status_code = 400
    code = "pass_unknown_key"
    detail = "Thẻ được ký bằng khoá không thuộc hệ thống này."


class PassBadSignature(PassError):
    status_code = 400
    code = "pass_bad_signature"
    detail = "Chữ ký trên thẻ không đúng (thẻ giả hoặc bị sửa)."


class PassExpired(PassError):
    status_code = 410
    code = "pass_expired"
    detail = "Thẻ đã hết hạn."


class PassKeyRevoked(PassError):
    status_code = 410
    code = "pass_key_revoked"
    detail = "Thẻ được ký bằng khoá đã bị thu hồi; hãy dùng thẻ được cấp lại."


class PassRevoked(PassError):
    status_code = 410
    code = "pass_revoked"
    detail = "Thẻ đã bị thu hồi hoặc đã được cấp lại; hãy dùng thẻ mới nhất."


class PassOtherConference(PassError):
    status_code = 409
    code = "pass_other_conference"
    detail = "Thẻ thuộc hội nghị khác."


class PassWrongSite(PassError):
    status_code = 409
    code = "pass_wrong_site"
    detail = "Đại biểu thuộc điểm cầu khác; hội nghị không cho điểm danh tại điểm cầu này."


class AttendeeNotFound(NotFound):
    code = "attendee_not_found"
    detail = "Không tìm thấy đại biểu (có thể đã bị xoá khỏi danh sách)."


class ShortCodeNotFound(NotFound):
    code = "short_code_not_found"
    detail = "Không có đại biểu nào mang mã này trong hội nghị."


class CheckinSessionNotFound(NotFound):
    code = "session_not_found"
    detail = "Không tìm thấy phiên họp trong hội nghị của điểm cầu này."


class NonceReused(AppError):
    status_code = 409
    code = "nonce_reused"
    detail = "Mã lượt quét (nonce) đã được dùng cho một đại biểu khác."


class NotCheckedIn(NotFound):
    code = "not_checked_in"
    detail = "Đại biểu chưa điểm danh ở phiên này."


class SiteQrInvalid(AppError):
    status_code = 400
    code = "site_qr_invalid"
    detail = "Mã QR điểm cầu không hợp lệ."


class SiteQrExpired(AppError):
    status_code = 410
    code = "site_qr_expired"
    detail = "Mã QR trên màn hình đã đổi; hãy quét lại mã đang hiển thị."


class SiteNotParticipating(AppError):
    status_code = 409
    code = "site_not_participating"
    detail = "Điểm cầu đã báo không tham gia hội nghị."


class ScreenTokenInvalid(AppError):
    status_code = 401
    code = "screen_token_invalid"
    detail = "Mã màn hình không hợp lệ hoặc đã bị thu hồi."


class InvalidHeadcount(AppError):
    status_code = 422
    code = "invalid_headcount"
    detail = (
        "Số người mỗi loại phải từ 0 đến 100.000, theo các loại: đại biểu, khách mời, "
        "phóng viên, khác."
    )


class HeadcountConflict(AppError):
    status_code = 409
    code = "headcount_conflict"
    detail = "Một báo cáo khác của điểm cầu vừa được gửi cùng lúc; vui lòng gửi lại."


class ConferenceNotEnded(AppError):
    status_code = 409
    code = "conference_not_ended"
    detail = "Hội nghị chưa kết thúc: chưa thể xoá dữ liệu định danh của đại biểu."


class RetentionNotOver(AppError):
    status_code = 409
    code = "retention_not_over"
    detail = (
        "Chưa hết thời hạn lưu trữ dữ liệu của hội nghị; muốn xoá sớm hãy xác nhận rõ "
        "(early: true, hoặc --early)."
    )


class ConferenceAlreadyPurged(AppError):
    status_code = 409
    code = "conference_already_purged"
    detail = "Dữ liệu định danh của hội nghị đã được xoá trước đó; không còn gì để xoá."


class PassKeyNotFound(NotFound):
    code = "pass_key_not_found"
    detail = "Không có khoá ký thẻ này."


class PassKeyActive(AppError):
    status_code = 409
    code = "pass_key_active"
    detail = "Khoá này đang ký thẻ mới; hãy đổi khoá (rotate-pass-key) trước khi thu hồi."


class BasisInvalid(AppError):
    status_code = 422
    code = "basis_invalid"
    detail = ("Cơ sở xử lý dữ liệu không hợp lệ: chọn unit (đơn vị cử), consent (đại biểu "
              "tự đồng ý) hoặc duty (nhiệm vụ theo quy định của pháp luật).")


class BasisRequired(AppError):
    status_code = 422
    code = "basis_required"
    detail = "Hãy chọn cơ sở xử lý dữ liệu của danh sách (đơn vị cử, đại biểu tự đồng ý…)."
# ------------------------------------------------------------- data subject's rights


class AttendeeAlreadyErased(AppError):
    status_code = 409
    code = "attendee_already_erased"
    detail = "Dữ liệu của đại biểu này đã được xoá trước đó; không còn gì để xoá."


class AttendeeErased(AppError):
    status_code = 409
    code = "attendee_erased"
    detail = "Dữ liệu của đại biểu này đã được xoá; không thể sửa hay yêu cầu gì thêm."


class CorrectionEmpty(AppError):
    status_code = 422
    code = "correction_empty"
    detail = "Chưa có thông tin nào cần sửa."


class AttendeeLinkInvalid(AppError):
    status_code = 404
    code = "attendee_link_invalid"
    detail = "Đường dẫn thẻ đại biểu không hợp lệ; hãy dùng đúng đường dẫn đã được gửi cho bạn."


class AttendeeLinkRevoked(AppError):
    status_code = 410
    code = "attendee_link_revoked"
    detail = ("Thẻ của bạn đã được cấp lại; đường dẫn này không còn dùng được. "
              "Hãy xin đường dẫn mới.")


class PersonalCodeWrong(AppError):
    status_code = 403
    code = "personal_code_wrong"
    detail = "Mã cá nhân không đúng. Hãy nhập đúng mã 8 ký tự in trên thẻ đại biểu của bạn."


class DataRequestNotFound(NotFound):
    code = "data_request_not_found"
    detail = "Không tìm thấy yêu cầu về dữ liệu cá nhân này."


class DataRequestOpen(AppError):
    status_code = 409
    code = "data_request_already_open"
    detail = ("Bạn đã có một yêu cầu loại này đang chờ xử lý; "
              "vui lòng đợi Văn phòng trung ương trả lời.")


class DataRequestClosed(AppError):
    status_code = 409
    code = "data_request_closed"
    detail = "Yêu cầu này đã được xử lý rồi."


class RefusalReasonMissing(AppError):
    status_code = 422
    code = "refusal_reason_missing"
    detail = "Hãy ghi lý do từ chối để đại biểu được biết."


class FormAlreadyAnswered(AppError):
    """A second answer of one attendee (or one anonymous phone) to one form."""

    status_code = 409
    code = "form_already_answered"
    detail = "Bạn đã trả lời phiếu này rồi: mỗi người chỉ trả lời một lần."


class AnswerSiteUnknown(AppError):
    """An anonymous answer that names no site: scan the site screen's QR or give a code."""

    status_code = 422
    code = "answer_site_unknown"
    detail = ("Không xác định được điểm cầu: hãy quét mã QR trên màn hình của điểm cầu "
              "hoặc nhập mã cá nhân.")


class TallyInvalid(AppError):
    """A room tally that cannot be: negative, above the present count, unknown option.
    `field` names the count at fault."""

    status_code = 422
    code = "tally_invalid"
    detail = "Số liệu kiểm đếm không hợp lệ."


class EffectPairNotFound(AppError):
    """The effectiveness report was asked for a pair whose pre-test is none of the
    conference's (a pre-test with a post-test of the same question bank)."""

    status_code = 404
    code = "effect_pair_not_found"
    detail = ("Không có cặp bài kiểm tra đầu vào và đầu ra (cùng bộ câu hỏi) này trong "
              "hội nghị.")


class FormResultsNotShown(NotFound):
    code = "form_results_not_shown"
    detail = "Kết quả của phiếu chưa được trình chiếu."


class ScanTimeFuture(AppError):
    status_code = 422
    code = "scan_time_future"
    detail = "Thời điểm quét ở tương lai: đồng hồ của máy quét sai; hãy chỉnh giờ rồi quét lại."


class ScanTooOld(AppError):
    status_code = 422
    code = "scan_too_old"
    detail = ("Lượt quét đã quá cũ để đồng bộ (quá giới hạn cho phép); có thể đồng hồ của máy "
              "quét sai. Hãy điểm danh lại đại biểu này.")


class ScanTimeOutsideSession(AppError):
    status_code = 422
    code = "scan_time_outside_session"
    detail = "Thời điểm quét nằm ngoài giờ của phiên họp."


class ScanTimeOutsideConference(AppError):
    status_code = 422
    code = "scan_time_outside_conference"
    detail = "Thời điểm quét nằm ngoài các ngày của hội nghị."
