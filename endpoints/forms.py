"""What every registry page shares: the template labels, form text, Vietnamese messages."""

from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import Field, ValidationError

from app.errors import describe_validation
from app.templating import add_globals
from endpoints import models as endpoints_models

# Every domain's pages show site kinds, readiness and approval with these labels.
add_globals(
    KIND_LABELS=endpoints_models.SITE_KIND_LABELS,
    READINESS_LABELS=endpoints_models.READINESS_LABELS,
    APPROVAL_LABELS=endpoints_models.APPROVAL_LABELS,
    SITE_STATUS_LABELS=endpoints_models.SITE_STATUS_LABELS,
    SITE_CHANGE_LABELS=endpoints_models.SITE_CHANGE_LABELS,
    SiteKind=endpoints_models.SiteKind,
    Readiness=endpoints_models.Readiness,
    Approval=endpoints_models.Approval,
)

FormText = Annotated[str, Field(max_length=2000)]

# Vietnamese names of form fields, for validation messages.
FIELD_LABELS = {
    "title": "Tên hội nghị",
    "starts_on": "Ngày bắt đầu",
    "ends_on": "Ngày kết thúc",
    "name": "Tên điểm cầu",
    "site_name": "Tên điểm cầu",
    "kind": "Loại điểm cầu",
    "parent_id": "Điểm cầu cấp trên",
    "parent_site_id": "Điểm cầu cấp trên",
    "code": "Mã điểm cầu",
    "room": "Phòng họp",
    "contact_name": "Người liên hệ",
    "contact_phone": "Số điện thoại liên hệ",
    "expected_attendees": "Số đại biểu dự kiến",
    "connection_link": "Đường dẫn kết nối",
    "readiness": "Tình trạng",
    "readiness_note": "Ghi chú tình trạng",
    "suggested_kind": "Loại điểm cầu gợi ý",
    "note": "Ghi chú",
    "days_valid": "Số ngày hiệu lực",
    "full_name": "Họ và tên",
    "phone": "Số điện thoại",
    "username": "Tên đăng nhập",
    "password": "Mật khẩu",
    "accept_notice": "Đồng ý thông báo xử lý dữ liệu cá nhân",
    "notice_version": "Phiên bản thông báo xử lý dữ liệu cá nhân",
}
_MESSAGES = {
    "string_pattern_mismatch": "chỉ được dùng chữ cái không dấu, chữ số và . _ - @",
    "string_too_short": "quá ngắn",
    "date_from_datetime_inexact": "ngày không hợp lệ",
    "int_from_float": "phải là số nguyên",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
}
_NOTICES = {
    "site_created": "Đã thêm điểm cầu.",
    "site_saved": "Đã lưu thay đổi.",
    "site_deleted": "Đã xoá điểm cầu.",
    "coordinator_created": "Đã tạo tài khoản cán bộ phụ trách.",
    "invite_revoked": "Đã thu hồi lời mời.",
    "approved": "Đã duyệt đăng ký; cán bộ phụ trách có thể đăng nhập.",
    "rejected": "Đã từ chối đăng ký.",
    "declared_tested": "Đã ghi tình trạng: đã kiểm tra.",
    "declared_ready": "Đã ghi tình trạng: sẵn sàng.",
    "incident_reported": "Đã báo sự cố; ban tổ chức thấy ngay trên bảng điều khiển.",
    "test_passed": "Kiểm tra kết nối đạt: điểm cầu chuyển sang «đã kiểm tra».",
    "test_failed": "Kiểm tra kết nối không đạt: đã báo sự cố.",
    "privacy_saved": "Đã lưu thông báo xử lý dữ liệu cá nhân và thời gian lưu trữ.",
}


def notice(key: str | None) -> str | None:
    """The message a redirect names in its `msg` parameter, if it is one of ours."""
    return _NOTICES.get(key or "")


def validation_message(exc: ValidationError) -> str:
    """The first problem of a form, in Vietnamese, naming the field."""
    described = describe_validation([dict(e) for e in exc.errors()])
    if not described:
        return "Dữ liệu không hợp lệ."
    first, raw = described[0], exc.errors()[0]
    message = str(first["message"])
    if raw.get("type") in _MESSAGES:
        message = _MESSAGES[str(raw["type"])]
    label = FIELD_LABELS.get(str(first["field"]))
    return f"{label}: {message}" if label else message


def filled(values: Mapping[str, str], keys: Sequence[str]) -> dict[str, str]:
    """The non-blank values among `keys`, trimmed (blank means "not given")."""
    return {k: values[k].strip() for k in keys if values.get(k, "").strip()}
