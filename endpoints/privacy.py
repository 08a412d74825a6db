"""Use cases of a conference's privacy notice (thông báo xử lý dữ liệu cá nhân): the
default text, the central office's edits and retention period, the public notice, and a
coordinator's acceptance when registering by invite.

The notice is plain text: paragraphs separated by a blank line, always escaped when shown.
Its version grows whenever the text a reader sees changes (an edit, a reset to the
default, or a new retention period that the default text states).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from app.accounts.models import User
from app.accounts.service import require_admin
from app.config import Settings
from app.db import utcnow
from app.text import nfc
from endpoints import errors
from endpoints.invite_models import NoticeAcceptance
from endpoints.models import Conference
from endpoints.service import get_conference

MAX_NOTICE_CHARS = 20_000
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650
# Control characters other than the line break and the tab (pasted from odd editors).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Controller:
    """Who decides on the processing (bên kiểm soát dữ liệu) and how to reach them."""

    name: str
    contact: str = ""


def controller_of(settings: Settings) -> Controller:
    """The controller named by the settings (DIEMCAU_CONTROLLER_NAME / _CONTACT)."""
    return Controller(name=settings.controller_name.strip(),
                      contact=settings.controller_contact.strip())


@dataclass(frozen=True)
class Notice:
    """A conference's notice as a reader sees it."""

    conference_id: int
    title: str
    starts_on: date
    ends_on: date
    version: int
    updated_at: datetime
    text: str
    is_default: bool
    retention_days: int
    keep_until: date
    controller: str

    @property
    def paragraphs(self) -> list[str]:
        """The text's paragraphs (line breaks inside one are kept by the page's style)."""
        return [p.strip() for p in self.text.split("\n\n") if p.strip()]


def keep_until(conference: Conference) -> date:
    """The last day identities are kept: `retention_days` after the last day."""
    return conference.ends_on + timedelta(days=conference.retention_days)


def _dates(conference: Conference) -> str:
    start, end = conference.starts_on, conference.ends_on
    if start == end:
        return f"ngày {start:%d/%m/%Y}"
    return f"từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"


def default_notice(conference: Conference, *, controller: Controller) -> str:
    """The default notice of a conference, in Vietnamese, for the given controller."""
    reach = f" (liên hệ: {controller.contact})" if controller.contact else ""
    return "\n\n".join((
        f"Bên kiểm soát dữ liệu cá nhân: {controller.name}{reach}. Thông báo này áp dụng "
        f"cho hội nghị “{conference.title}” {_dates(conference)}.",
        "Mục đích xử lý: lập danh sách đại biểu, cấp thẻ đại biểu có mã QR, điểm danh tại "
        "các điểm cầu, theo dõi chương trình, tổng hợp số người tham dự và báo cáo kết quả "
        "tổ chức hội nghị. Dữ liệu không được dùng vào mục đích khác, không bán, không chia "
        "sẻ cho bên thứ ba và không chuyển ra ngoài máy chủ của ban tổ chức.",
        "Dữ liệu được xử lý: họ và tên, đơn vị công tác, chức vụ, số điện thoại (nếu có, "
        "không bắt buộc), điểm cầu tham dự; thời gian và nơi điểm danh ở từng phiên họp; "
        "câu trả lời đại biểu gửi (nếu có). Với cán bộ phụ trách điểm cầu: họ và tên, số "
        "điện thoại, tên đăng nhập. Hệ thống không thu thập số căn cước công dân hay ảnh "
        "chân dung.",
        "Nguồn và cơ sở xử lý: danh sách đại biểu do đơn vị cử đại biểu gửi, hoặc do đại "
        "biểu tự cung cấp với sự đồng ý của mình; mỗi lần nhập danh sách đều ghi lại ai "
        "cung cấp, vào lúc nào và trên cơ sở nào.",
        f"Thời gian lưu trữ: dữ liệu định danh được lưu đến hết {conference.retention_days} "
        f"ngày sau ngày kết thúc hội nghị (đến hết ngày {keep_until(conference):%d/%m/%Y}). "
        "Sau đó họ tên được thay bằng mã ẩn danh, số điện thoại và các thông tin định danh "
        "khác bị xoá; chỉ giữ lại số liệu tổng hợp.",
        "Quyền của đại biểu (chủ thể dữ liệu): được biết về việc xử lý dữ liệu của mình; "
        "xem, yêu cầu chỉnh sửa hoặc xoá dữ liệu; phản đối hoặc yêu cầu hạn chế xử lý; rút "
        "lại sự đồng ý; khiếu nại, tố cáo theo quy định của pháp luật. Cách thực hiện: mở "
        "trang thẻ đại biểu của mình, vào mục “Dữ liệu của tôi”, nhập mã cá nhân in trên "
        "thẻ để xem toàn bộ dữ liệu đang được lưu và gửi yêu cầu chỉnh sửa hoặc xoá; hoặc "
        f"liên hệ {controller.name}.",
        "Bảo vệ dữ liệu: chỉ cán bộ được phân quyền mới xem được dữ liệu; cán bộ điểm cầu "
        "chỉ thấy số điện thoại đã che bớt. Mọi thao tác thêm, sửa, xoá, xem và xuất dữ "
        "liệu cá nhân đều được ghi vào nhật ký không thể sửa xoá.",
        "Căn cứ pháp lý: Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15 và Nghị định số "
        "356/2025/NĐ-CP quy định chi tiết một số điều và biện pháp thi hành Luật Bảo vệ dữ "
        "liệu cá nhân.",
    ))


def notice_of(conference: Conference, *, controller: Controller) -> Notice:
    """What a reader of `conference`'s notice sees."""
    assert conference.id is not None
    custom = conference.privacy_notice
    return Notice(
        conference_id=conference.id,
        title=conference.title,
        starts_on=conference.starts_on,
        ends_on=conference.ends_on,
        version=conference.notice_version,
        updated_at=conference.notice_updated_at or conference.created_at,
        text=custom if custom is not None else default_notice(conference, controller=controller),
        is_default=custom is None,
        retention_days=conference.retention_days,
        keep_until=keep_until(conference),
        controller=controller.name,
    )


def public_notice(db: Session, *, conference_id: int, controller: Controller) -> Notice:
    """The notice anyone may read (no login): one primary-key read."""
    conference = db.get(Conference, conference_id)
    if conference is None:
        raise errors.ConferenceNotFound()
    return notice_of(conference, controller=controller)


def privacy_settings(
    db: Session, *, conference_id: int, actor: User, controller: Controller
) -> Notice:
    """The notice and retention period as the central office edits them."""
    require_admin(actor)
    conference = get_conference(db, conference_id=conference_id, actor=actor)
    return notice_of(conference, controller=controller)


def clean_notice(text: str | None) -> str | None:
    """The text to store: NFC, Unix line breaks, no trailing spaces, at most one blank
    line between paragraphs; None (the default text) when empty."""
    if text is None:
        return None
    text = nfc(text).replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise errors.NoticeInvalid()
    text = _BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in text.split("\n")))
    text = text.strip()
    if len(text) > MAX_NOTICE_CHARS:
        raise errors.NoticeTooLong()
    return text or None


def update_privacy(
    db: Session,
    *,
    conference_id: int,
    actor: User,
    controller: Controller,
    text: str | None,
    set_text: bool = True,
    retention_days: int | None = None,
) -> Notice:
    """Change a conference's notice (`set_text`; empty: back to the default) and/or its
    retention period (central office). The version grows when the text read changes."""
    require_admin(actor)
    conference = get_conference(db, conference_id=conference_id, actor=actor)
    if retention_days is not None and not (
        MIN_RETENTION_DAYS <= retention_days <= MAX_RETENTION_DAYS
    ):
        raise errors.RetentionOutOfRange()
    custom = clean_notice(text) if set_text else conference.privacy_notice
    before = notice_of(conference, controller=controller).text
    if retention_days is not None:
        conference.retention_days = retention_days
    # The default text sent back unchanged stays the default (it follows the retention).
    if custom is not None and custom == default_notice(conference, controller=controller):
        custom = None
    conference.privacy_notice = custom
    if notice_of(conference, controller=controller).text != before:
        conference.notice_version += 1
        conference.notice_updated_at = utcnow()
    db.add(conference)
    db.commit()
    db.refresh(conference)
    return notice_of(conference, controller=controller)


def check_acceptance(conference: Conference, *, accepted: bool, version: int | None) -> None:
    """Refuse a registration whose coordinator did not accept the notice's current version."""
    current, url = conference.notice_version, f"/privacy/{conference.id}"
    if not accepted or version is None:
        raise errors.NoticeNotAccepted(notice_version=current, notice_url=url)
    if version != conference.notice_version:
        raise errors.NoticeChanged(notice_version=current, notice_url=url)


def record_acceptance(
    db: Session, *, conference: Conference, user_id: int, invite_id: int | None
) -> NoticeAcceptance:
    """Keep the acceptance in the caller's transaction (committed with the registration)."""
    assert conference.id is not None
    acceptance = NoticeAcceptance(
        conference_id=conference.id, user_id=user_id, invite_id=invite_id,
        notice_version=conference.notice_version, accepted_at=utcnow(),
    )
    db.add(acceptance)
    return acceptance
