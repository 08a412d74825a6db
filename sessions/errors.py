"""Errors of the programme domain, each with a stable code."""

from app.errors import AppError, NotFound


class SessionNotFound(NotFound):
    code = "session_not_found"
    detail = "Không tìm thấy phiên họp."


class AgendaItemNotFound(NotFound):
    code = "agenda_item_not_found"
    detail = "Không tìm thấy mục chương trình."


class DeckNotFound(NotFound):
    code = "deck_not_found"
    detail = "Không tìm thấy bài trình chiếu."


class FollowLinkInvalid(NotFound):
    code = "follow_link_invalid"
    detail = "Đường dẫn theo dõi không hợp lệ."


class SessionClosed(AppError):
    status_code = 409
    code = "session_closed"
    detail = "Phiên họp đã kết thúc, không thể thay đổi."


class SessionNotClosed(AppError):
    status_code = 409
    code = "session_not_closed"
    detail = "Phiên họp chưa kết thúc, không cần mở lại."


class SessionTimesInvalid(AppError):
    status_code = 422
    code = "session_times_invalid"
    detail = "Giờ kết thúc phải sau giờ bắt đầu."


class AgendaItemNotInSession(AppError):
    status_code = 422
    code = "agenda_item_not_in_session"
    detail = "Mục chương trình không thuộc phiên họp này."


class AgendaOrderMismatch(AppError):
    status_code = 422
    code = "agenda_order_mismatch"
    detail = "Danh sách sắp xếp phải gồm đúng và đủ các mục của phiên họp."


class SlideOutOfRange(AppError):
    status_code = 422
    code = "slide_out_of_range"
    detail = "Số trang trình chiếu không hợp lệ."


class DeckNotPdf(AppError):
    status_code = 415
    code = "deck_not_pdf"
    detail = "Tệp tải lên không phải là PDF."


class DeckBroken(AppError):
    status_code = 422
    code = "deck_broken"
    detail = "Tệp PDF bị hỏng hoặc không đọc được."


class DeckEncrypted(AppError):
    status_code = 422
    code = "deck_encrypted"
    detail = "Tệp PDF có mật khẩu; hãy gỡ mật khẩu rồi tải lên lại."


class DeckTooManyPages(AppError):
    status_code = 413
    code = "deck_too_many_pages"
    detail = "Tệp PDF có quá nhiều trang."


class DeckRenderTimeout(AppError):
    status_code = 422
    code = "deck_render_timeout"
    detail = "Tệp PDF dựng trang quá lâu; hãy giảm số trang hoặc xuất lại tệp PDF nhẹ hơn."


class DeckTooLarge(AppError):
    status_code = 413
    code = "deck_too_large"
    detail = "Tệp PDF quá lớn."


class DeckUploadInvalid(AppError):
    status_code = 422
    code = "deck_upload_invalid"
    detail = "Cần gửi một tệp PDF trong trường 'file' (multipart/form-data)."


class FollowLinkRevoked(AppError):
    status_code = 410
    code = "follow_link_revoked"
    detail = "Đường dẫn theo dõi này đã được thay bằng đường dẫn mới; hãy quét mã QR mới."


class FollowLinkExpired(AppError):
    status_code = 410
    code = "follow_link_expired"
    detail = "Hội nghị đã kết thúc; đường dẫn theo dõi không còn dùng được."


# --------------------------------------------------------------------- floor


class FloorRequestNotFound(NotFound):
    code = "floor_request_not_found"
    detail = "Không tìm thấy yêu cầu phát biểu."


class FloorRequestWithdrawn(AppError):
    status_code = 409
    code = "floor_request_withdrawn"
    detail = "Điểm cầu đã rút yêu cầu phát biểu này."


class FloorRequestNotOpen(AppError):
    status_code = 409
    code = "floor_request_not_open"
    detail = "Yêu cầu phát biểu không còn chờ (đã được trả lời hoặc đã phát biểu)."


class FloorNoSpeaker(AppError):
    status_code = 409
    code = "floor_no_speaker"
    detail = "Hiện không có điểm cầu nào đang phát biểu."


class SessionNotOnStage(AppError):
    status_code = 409
    code = "session_not_on_stage"
    detail = "Phiên họp này chưa được đưa lên màn hình; hãy mở phiên trên bảng điều khiển trước."


class NoSessionOnStage(AppError):
    status_code = 409
    code = "no_session_on_stage"
    detail = "Chưa có phiên họp nào đang diễn ra."


class QuestionNotFound(NotFound):
    code = "question_not_found"
    detail = "Không tìm thấy câu hỏi."


class QuestionNotApproved(AppError):
    status_code = 409
    code = "question_not_approved"
    detail = "Chỉ câu hỏi đã duyệt mới được đưa lên màn hình."


class QuestionMergeInvalid(AppError):
    status_code = 422
    code = "question_merge_invalid"
    detail = "Chỉ gộp được vào một câu hỏi khác, chưa bị ẩn hay gộp, của cùng phiên họp."


class FormNotFound(NotFound):
    code = "form_not_found"
    detail = "Không tìm thấy phiếu kiểm tra/khảo sát."


class BankNotFound(NotFound):
    code = "bank_not_found"
    detail = "Không tìm thấy bộ câu hỏi."


class FormNotOpen(AppError):
    status_code = 409
    code = "form_not_open"
    detail = "Phiếu chưa được mở: chưa nhận câu trả lời."


class FormClosed(AppError):
    status_code = 409
    code = "form_closed"
    detail = "Phiếu đã đóng: không nhận thêm câu trả lời."


class AnswerInvalid(AppError):
    """An answer that does not fit the form's questions (the detail names the question)."""

    status_code = 422
    code = "answer_invalid"
    detail = "Câu trả lời không khớp với câu hỏi của phiếu."


class FormNotClosed(AppError):
    status_code = 409
    code = "form_not_closed"
    detail = "Chỉ hiện kết quả của phiếu đã đóng."
