"""The privacy notice's use cases: the default text, edits and versions, the retention
period, and a coordinator's acceptance when registering by invite."""

from datetime import date

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from app.accounts import errors as accounts_errors
from app.accounts.models import User
from app.errors import AppError
from endpoints import errors, invites, privacy
from endpoints.invite_models import InviteCreate, NoticeAcceptance
from endpoints.models import Conference
from tests.conftest import Tree, make_settings
from tests.endpoints.support import registration

CONTROLLER = privacy.Controller(name="Văn phòng Tỉnh ủy Lâm Đồng",
                                contact="0263 382 2222, vp@lamdong.example.vn")


def _update(db: Session, tree: Tree, admin: User, **kw: object) -> privacy.Notice:
    return privacy.update_privacy(db, conference_id=tree.cid, actor=admin,
                                  controller=CONTROLLER, **kw)  # type: ignore[arg-type]


def test_default_notice_names_controller_purpose_data_retention_rights_and_law(
    db: Session, tree: Tree
) -> None:
    notice = privacy.public_notice(db, conference_id=tree.cid, controller=CONTROLLER)
    text = notice.text
    assert notice.is_default and notice.version == 1
    assert "Văn phòng Tỉnh ủy Lâm Đồng" in text and "vp@lamdong.example.vn" in text
    assert "Hội nghị tập huấn AI" in text and "ngày 09/09/2025" in text
    assert "Mục đích xử lý" in text and "điểm danh" in text
    for kept in ("họ và tên", "đơn vị công tác", "chức vụ", "số điện thoại (nếu có",
                 "thời gian và nơi điểm danh", "câu trả lời"):
        assert kept in text
    # 90 days after the last day (9 September 2025) by default.
    assert "90 ngày sau ngày kết thúc" in text and "08/12/2025" in text
    assert notice.keep_until == date(2025, 12, 8)
    assert "Dữ liệu của tôi" in text and "mã cá nhân" in text
    assert "91/2025/QH15" in text and "356/2025/NĐ-CP" in text
    assert len(notice.paragraphs) >= 8 and all("\n\n" not in p for p in notice.paragraphs)


def test_the_controller_comes_from_the_settings() -> None:
    default = make_settings("sqlite://")
    assert privacy.controller_of(default) == privacy.Controller("Ban tổ chức hội nghị", "")
    named = make_settings("sqlite://", controller_name="  Sở Nội vụ ",
                          controller_contact="024 1234 5678")
    assert privacy.controller_of(named) == privacy.Controller("Sở Nội vụ", "024 1234 5678")
    for blank in ("", "   "):
        with pytest.raises(ValidationError, match="DIEMCAU_CONTROLLER_NAME"):
            make_settings("sqlite://", controller_name=blank)


def test_each_change_of_the_text_read_bumps_the_version(
    db: Session, tree: Tree, admin: User
) -> None:
    edited = _update(db, tree, admin, text="Đoạn một.\r\n\r\n\r\n\r\nĐoạn hai,   \ndòng hai.  ")
    assert (edited.version, edited.is_default) == (2, False)
    assert edited.text == "Đoạn một.\n\nĐoạn hai,\ndòng hai."
    assert edited.paragraphs == ["Đoạn một.", "Đoạn hai,\ndòng hai."]
    assert edited.updated_at > tree.conference.created_at
    # The same text again, or only the retention of a custom text: same version.
    assert _update(db, tree, admin, text="Đoạn một.\n\nĐoạn hai,\ndòng hai.").version == 2
    kept = _update(db, tree, admin, text=None, set_text=False, retention_days=30)
    assert (kept.version, kept.retention_days, kept.is_default) == (2, 30, False)
    # Back to the default (empty text): a new version, the default text again.
    reset = _update(db, tree, admin, text="   ")
    assert (reset.version, reset.is_default) == (3, True)
    assert "30 ngày sau ngày kết thúc" in reset.text
    # The default states the retention period: a new period is a new text to read.
    longer = _update(db, tree, admin, text=None, set_text=False, retention_days=365)
    assert longer.version == 4 and "365 ngày" in longer.text
    # The default text sent back unchanged stays the default (and the same version).
    same = _update(db, tree, admin, text=longer.text, retention_days=365)
    assert (same.version, same.is_default) == (4, True)
    db.expire_all()
    stored = db.get(Conference, tree.cid)
    assert stored is not None
    assert (stored.notice_version, stored.privacy_notice, stored.retention_days) == (4, None, 365)


@pytest.mark.parametrize(("kw", "code"), [
    ({"text": "x" * (privacy.MAX_NOTICE_CHARS + 1)}, "notice_too_long"),
    ({"text": "Chữ\x00ký tự điều khiển"}, "notice_invalid"),
    ({"text": None, "set_text": False, "retention_days": 0}, "retention_out_of_range"),
    ({"text": None, "set_text": False, "retention_days": 3651}, "retention_out_of_range"),
])
def test_bad_edits_are_refused_with_a_code_and_change_nothing(
    db: Session, tree: Tree, admin: User, kw: dict[str, object], code: str
) -> None:
    with pytest.raises(AppError) as info:
        _update(db, tree, admin, **kw)
    assert info.value.code == code and info.value.status_code == 422
    db.rollback()
    db.expire_all()
    stored = db.get(Conference, tree.cid)
    assert stored is not None
    assert (stored.notice_version, stored.privacy_notice, stored.retention_days) == (1, None, 90)


def test_the_limits_of_the_retention_period_are_accepted(
    db: Session, tree: Tree, admin: User
) -> None:
    assert _update(db, tree, admin, text=None, set_text=False, retention_days=1).retention_days == 1
    assert _update(db, tree, admin, text=None, set_text=False,
                   retention_days=3650).retention_days == 3650


def test_only_the_central_office_reads_and_edits_the_settings(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(accounts_errors.AdminOnly):
        privacy.privacy_settings(db, conference_id=tree.cid, actor=coordinator_a,
                                 controller=CONTROLLER)
    with pytest.raises(accounts_errors.AdminOnly):
        privacy.update_privacy(db, conference_id=tree.cid, actor=coordinator_a,
                               controller=CONTROLLER, text="Khác")


def test_an_unknown_conference_has_no_notice(db: Session) -> None:
    with pytest.raises(errors.ConferenceNotFound):
        privacy.public_notice(db, conference_id=987654, controller=CONTROLLER)


def test_registration_needs_the_current_notice_accepted(
    db: Session, tree: Tree, admin: User
) -> None:
    _, token = invites.create_invite(db, conference_id=tree.cid, data=InviteCreate(),
                                     actor=admin, default_days=14)
    with pytest.raises(errors.NoticeNotAccepted) as refused:
        invites.register_with_invite(db, token=token, data=registration(accept_notice=False))
    assert refused.value.extra == {"notice_version": 1, "notice_url": f"/privacy/{tree.cid}"}
    with pytest.raises(errors.NoticeNotAccepted):
        invites.register_with_invite(db, token=token, data=registration(notice_version=None))
    _update(db, tree, admin, text="Thông báo mới của ban tổ chức.")
    with pytest.raises(errors.NoticeChanged) as stale:
        invites.register_with_invite(db, token=token, data=registration(notice_version=1))
    assert stale.value.status_code == 409 and stale.value.extra["notice_version"] == 2
    # None of these used the invite up; the current version is accepted and stored.
    _, user = invites.register_with_invite(db, token=token, data=registration(notice_version=2))
    stored = db.exec(select(NoticeAcceptance)).all()
    assert len(stored) == 1
    assert (stored[0].conference_id, stored[0].user_id, stored[0].notice_version) == (
        tree.cid, user.id, 2)
    assert stored[0].invite_id is not None and stored[0].accepted_at is not None


def test_a_taken_username_stores_no_acceptance(db: Session, tree: Tree, admin: User) -> None:
    _, first = invites.create_invite(db, conference_id=tree.cid, data=InviteCreate(),
                                     actor=admin, default_days=14)
    _, second = invites.create_invite(db, conference_id=tree.cid, data=InviteCreate(),
                                      actor=admin, default_days=14)
    invites.register_with_invite(db, token=first, data=registration())
    with pytest.raises(accounts_errors.UsernameTaken):
        invites.register_with_invite(db, token=second, data=registration(site_name="Khác"))
    assert len(db.exec(select(NoticeAcceptance)).all()) == 1
