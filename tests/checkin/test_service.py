"""Check-in use cases on SQLite and PostgreSQL: every outcome code, roster, search, headcounts."""

import json
import time
from datetime import date

import pytest
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.config import Settings
from checkin import errors, keys, misses, qr, service
from checkin import roster as checkin_roster
from checkin.models import Attendance, Attendee, ScanFailure
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints import site_changes
from endpoints.models import ConferenceCreate, Readiness, SiteCreate, SiteKind, SiteUpdate
from sessions import service as sessions_service
from sessions.models import SessionCreate
from tests.checkin.support import Roster, code_for, count_rows, signed
from tests.conftest import Tree, make_settings


def _failures(db: Session) -> list[str]:
    db.rollback()
    return [f.reason for f in db.exec(select(ScanFailure).order_by(col(ScanFailure.id))).all()]


# ------------------------------------------------------------------ check-in


def test_check_in_first_scan_records_attendance(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    published: list[tuple[str, str]] = []
    result = service.check_in(
        wdb,
        code=code_for(wdb, roster.an, settings),
        site_id=tree.ward_a1,
        actor=admin,
        device="desk-1",
        settings=settings,
        publish=lambda c, m: published.append((c, m)),
    )
    assert result.status == "checked_in" and result.first and not result.foreign_site
    assert result.attendee.full_name == "Nguyễn Văn An"
    assert result.attendee.site_name == "Đảng ủy phường Bến Nghé"
    row = wdb.exec(select(Attendance)).one()
    assert (row.attendee_id, row.site_id, row.session_key, row.method, row.device) == (
        roster.an.id,
        tree.ward_a1,
        0,
        "scan",
        "desk-1",
    )
    assert published[0][0] == f"conference:{tree.cid}:attendance"
    assert json.loads(published[0][1])["attendee_id"] == roster.an.id


def test_check_in_repeat_answers_already_with_when_and_where(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = code_for(wdb, roster.an, settings)
    first = service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)
    published: list[str] = []
    again = service.check_in(
        wdb,
        code=code,
        site_id=tree.hub_a,
        actor=admin,
        settings=settings,
        publish=lambda c, m: published.append(m),
    )
    assert again.status == "already_checked_in" and not again.first
    assert again.checked_in_at == first.checked_in_at
    assert again.site_id == tree.ward_a1 and again.site_name == "Đảng ủy phường Bến Nghé"
    assert published == []
    assert count_rows(wdb, Attendance) == 1


def test_check_in_short_code_any_case_with_dash(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    typed = roster.binh.short_code[:4].lower() + "-" + roster.binh.short_code[4:].lower()
    result = service.check_in(
        wdb,
        code=f" {typed} ",
        site_id=tree.ward_a1,
        actor=admin,
        method="search",
        settings=settings,
    )
    assert result.status == "checked_in" and result.attendee.id == roster.binh.id


def test_check_in_replayed_nonce_returns_original_result(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = code_for(wdb, roster.an, settings)
    first = service.check_in(
        wdb, code=code, site_id=tree.ward_a1, actor=admin, nonce="n-1", settings=settings
    )
    replay = service.check_in(
        wdb, code=code, site_id=tree.ward_a1, actor=admin, nonce="n-1", settings=settings
    )
    assert replay.status == "checked_in" and replay.replayed and replay.first
    assert replay.checked_in_at == first.checked_in_at
    later = service.check_in(
        wdb, code=code, site_id=tree.ward_a1, actor=admin, nonce="n-2", settings=settings
    )
    assert later.status == "already_checked_in" and not later.replayed
    assert count_rows(wdb, Attendance) == 1


def test_check_in_nonce_reused_for_other_attendee_conflict(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    service.check_in(
        wdb,
        code=roster.an.short_code,
        site_id=tree.ward_a1,
        actor=admin,
        nonce="same",
        settings=settings,
    )
    with pytest.raises(errors.NonceReused):
        service.check_in(
            wdb,
            code=roster.binh.short_code,
            site_id=tree.ward_a1,
            actor=admin,
            nonce="same",
            settings=settings,
        )
    assert count_rows(wdb, Attendance) == 1
    assert _failures(wdb) == ["nonce_reused"]


@pytest.mark.parametrize(
    "code",
    [
        "",
        "hello",
        "DC1",
        "DC1AAAA",
        "DC1" + "A" * 130,
        "DC1" + "8" * 131,
        "x" * 10_240,
        "DC1" + "\x00\x07" * 60,
        "Nguyễn Văn An 😀",
        "ABCD-EFG",
        "https://example.com/?q=1",
    ],
)
def test_check_in_garbage_refused_malformed_and_recorded(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings, code: str
) -> None:
    with pytest.raises(errors.PassMalformed) as exc:
        service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)
    assert exc.value.status_code == 400 and exc.value.code == "pass_malformed"
    failures = wdb.exec(select(ScanFailure)).all()
    assert [(f.reason, f.conference_id, f.site_id) for f in failures] == [
        ("pass_malformed", tree.cid, tree.ward_a1)
    ]
    assert failures[0].code_prefix == ""  # not one of our passes: none of it is kept
    assert count_rows(wdb, Attendance) == 0


def test_check_in_truncated_pass_malformed(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = code_for(wdb, roster.an, settings)
    with pytest.raises(errors.PassMalformed):
        service.check_in(wdb, code=code[:-5], site_id=tree.ward_a1, actor=admin, settings=settings)


def test_check_in_forged_pass_bad_signature(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    code_for(wdb, roster.an, settings)
    ring = keys.key_ring(wdb.get_bind(), secret_key=settings.secret_key)
    assert roster.an.id is not None and ring.signer_kid is not None
    forged = qr.sign_pass(
        qr.PassClaims(ring.signer_kid, tree.cid, roster.an.id, 1, 4_000_000_000),
        Ed25519PrivateKey.generate(),
    )
    with pytest.raises(errors.PassBadSignature):
        service.check_in(wdb, code=forged, site_id=tree.ward_a1, actor=admin, settings=settings)
    assert _failures(wdb) == ["pass_bad_signature"]


def test_check_in_unknown_key_refused(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = signed(wdb, settings, kid="zz9", conference_id=tree.cid, attendee_id=roster.an.id)
    with pytest.raises(errors.PassUnknownKey):
        service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)


def test_check_in_expired_pass_refused(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = signed(
        wdb,
        settings,
        conference_id=tree.cid,
        attendee_id=roster.an.id,
        expires_at=int(time.time()) - 1,
    )
    with pytest.raises(errors.PassExpired) as exc:
        service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)
    assert exc.value.status_code == 410
    assert _failures(wdb) == ["pass_expired"]


def test_check_in_reissued_pass_revokes_old(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    assert roster.an.id is not None
    old_code, old_short = code_for(wdb, roster.an, settings), roster.an.short_code
    fresh = checkin_roster.reissue_pass(wdb, attendee_id=roster.an.id, actor=admin)
    assert fresh.pass_version == 2 and fresh.short_code != old_short
    with pytest.raises(errors.PassRevoked) as exc:
        service.check_in(wdb, code=old_code, site_id=tree.ward_a1, actor=admin, settings=settings)
    assert exc.value.code == "pass_revoked"
    with pytest.raises(errors.ShortCodeNotFound):
        service.check_in(wdb, code=old_short, site_id=tree.ward_a1, actor=admin, settings=settings)
    result = service.check_in(
        wdb,
        code=code_for(wdb, fresh, settings),
        site_id=tree.ward_a1,
        actor=admin,
        settings=settings,
    )
    assert result.status == "checked_in"


def test_check_in_other_conference_pass_refused(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    other = endpoints_service.create_conference(
        wdb,
        data=ConferenceCreate(
            title="Hội nghị khác", starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 1)
        ),
        actor=admin,
    )
    assert other.id is not None
    site = endpoints_service.create_site(
        wdb,
        conference_id=other.id,
        data=SiteCreate(name="Hội trường B", kind=SiteKind.central),
        actor=admin,
    )
    assert site.id is not None
    with pytest.raises(errors.PassOtherConference) as exc:
        service.check_in(
            wdb,
            code=code_for(wdb, roster.an, settings),
            site_id=site.id,
            actor=admin,
            settings=settings,
        )
    assert exc.value.status_code == 409
    # The short code of another conference simply does not exist here.
    with pytest.raises(errors.ShortCodeNotFound):
        service.check_in(
            wdb, code=roster.an.short_code, site_id=site.id, actor=admin, settings=settings
        )
    assert count_rows(wdb, Attendance) == 0


def test_check_in_deleted_attendee_not_found(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    assert roster.cuong.id is not None
    code = code_for(wdb, roster.cuong, settings)
    checkin_roster.delete_attendee(wdb, attendee_id=roster.cuong.id, actor=admin)
    with pytest.raises(errors.AttendeeNotFound) as exc:
        service.check_in(wdb, code=code, site_id=tree.ward_b1, actor=admin, settings=settings)
    assert exc.value.status_code == 404
    with pytest.raises(errors.AttendeeNotFound):
        service.check_in(
            wdb, code=roster.cuong.short_code, site_id=tree.ward_b1, actor=admin, settings=settings
        )
    deleted = wdb.get(Attendee, roster.cuong.id)
    assert deleted is not None
    with pytest.raises(errors.AttendeeNotFound):
        checkin_roster.issue_pass(wdb, attendee=deleted, settings=settings)


def test_check_in_pass_of_unknown_attendee_not_found(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    code = signed(wdb, settings, conference_id=tree.cid, attendee_id=999_999)
    with pytest.raises(errors.AttendeeNotFound):
        service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)


def test_check_in_foreign_site_flagged(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    result = service.check_in(
        wdb,
        code=code_for(wdb, roster.cuong, settings),
        site_id=tree.ward_a1,
        actor=admin,
        settings=settings,
    )
    assert result.status == "checked_in" and result.foreign_site
    assert result.site_id == tree.ward_a1 and result.attendee.site_id == tree.ward_b1
    assert wdb.exec(select(Attendance)).one().foreign_site is True


def test_check_in_foreign_site_refused_by_policy(
    wdb: Session, roster: Roster, tree: Tree, admin: User, database_url: str
) -> None:
    strict = make_settings(database_url, foreign_site_policy="refuse")
    with pytest.raises(errors.PassWrongSite) as exc:
        service.check_in(
            wdb,
            code=code_for(wdb, roster.cuong, strict),
            site_id=tree.ward_a1,
            actor=admin,
            settings=strict,
        )
    assert exc.value.code == "pass_wrong_site"
    assert (
        service.check_in(
            wdb, code=roster.cuong.short_code, site_id=tree.ward_b1, actor=admin, settings=strict
        ).status
        == "checked_in"
    )


def test_check_in_coordinator_site_out_of_scope(
    wdb: Session, roster: Roster, tree: Tree, coordinator_a: User, settings: Settings
) -> None:
    with pytest.raises(endpoints_errors.SiteOutOfScope) as exc:
        service.check_in(
            wdb,
            code=roster.cuong.short_code,
            site_id=tree.ward_b1,
            actor=coordinator_a,
            settings=settings,
        )
    assert exc.value.status_code == 403
    ok = service.check_in(
        wdb, code=roster.an.short_code, site_id=tree.ward_a1, actor=coordinator_a, settings=settings
    )
    assert ok.status == "checked_in"
    assert _failures(wdb) == ["site_out_of_scope"]


def test_check_in_unknown_site_not_found(
    wdb: Session, roster: Roster, admin: User, settings: Settings
) -> None:
    with pytest.raises(endpoints_errors.SiteNotFound):
        service.check_in(
            wdb, code=roster.an.short_code, site_id=987_654, actor=admin, settings=settings
        )
    assert _failures(wdb) == ["site_not_found"]


def test_check_in_per_session_counted_separately(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    session = sessions_service.create_session(
        wdb,
        conference_id=tree.cid,
        data=SessionCreate.model_validate(
            {
                "title": "Phiên khai mạc",
                "starts_at": "2025-09-09T08:00:00",
                "ends_at": "2025-09-09T11:00:00",
            }
        ),
        actor=admin,
    )
    code = roster.an.short_code
    door = service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)
    opening = service.check_in(
        wdb, code=code, site_id=tree.ward_a1, actor=admin, session_id=session.id, settings=settings
    )
    assert door.status == opening.status == "checked_in"
    assert opening.session_id == session.id
    assert sorted(r.session_key for r in wdb.exec(select(Attendance)).all()) == [0, session.id]


def test_check_in_session_of_unknown_id_not_found(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    with pytest.raises(errors.CheckinSessionNotFound):
        service.check_in(
            wdb,
            code=roster.an.short_code,
            site_id=tree.ward_a1,
            actor=admin,
            session_id=424_242,
            settings=settings,
        )


def test_check_out_marks_time(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    assert roster.an.id is not None
    with pytest.raises(errors.NotCheckedIn):
        service.check_out(wdb, attendee_id=roster.an.id, session_id=None, actor=admin)
    service.check_in(
        wdb, code=roster.an.short_code, site_id=tree.ward_a1, actor=admin, settings=settings
    )
    row = service.check_out(wdb, attendee_id=roster.an.id, session_id=None, actor=admin)
    assert row.checked_out_at is not None


# ------------------------------------------------------------- self check-in


def test_self_check_in_with_current_site_token(
    wdb: Session, roster: Roster, tree: Tree, settings: Settings
) -> None:
    token = service.site_qr(tree.ward_a1, settings)
    result = service.self_check_in(
        wdb, site_token=token, code=roster.an.short_code, settings=settings
    )
    assert result.status == "checked_in" and result.site_id == tree.ward_a1
    assert wdb.exec(select(Attendance)).one().method == "self"
    assert service.self_checkin_site(wdb, site_token=token, settings=settings).id == tree.ward_a1


def test_self_check_in_stale_token_expired(
    wdb: Session, roster: Roster, tree: Tree, settings: Settings
) -> None:
    token = service.site_qr(tree.ward_a1, settings, now=time.time() - 60)
    with pytest.raises(errors.SiteQrExpired) as exc:
        service.self_check_in(wdb, site_token=token, code=roster.an.short_code, settings=settings)
    assert exc.value.status_code == 410
    # Anonymous: counted in memory (checkin.misses), not one scan_failure row each.
    assert count_rows(wdb, Attendance) == 0 and _failures(wdb) == []
    assert misses.counter_for(wdb.get_bind()).take() != {}


def test_self_check_in_forged_token_invalid(
    wdb: Session, roster: Roster, tree: Tree, settings: Settings
) -> None:
    other = settings.model_copy(update={"secret_key": "another-secret-" + "y" * 40})
    with pytest.raises(errors.SiteQrInvalid):
        service.self_check_in(
            wdb,
            site_token=service.site_qr(tree.ward_a1, other),
            code=roster.an.short_code,
            settings=settings,
        )
    with pytest.raises(errors.SiteQrInvalid):
        service.self_check_in(
            wdb, site_token="garbage", code=roster.an.short_code, settings=settings
        )


# ------------------------------------------------------- check-in (participation)


def test_check_in_at_site_not_participating_is_refused_and_recorded(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    site_changes.update_site(
        wdb,
        site_id=tree.ward_a1,
        data=SiteUpdate(readiness=Readiness.not_participating),
        actor=admin,
    )
    with pytest.raises(errors.SiteNotParticipating):
        service.check_in(
            wdb,
            code=code_for(wdb, roster.an, settings),
            site_id=tree.ward_a1,
            actor=admin,
            settings=settings,
        )
    assert wdb.exec(select(func.count()).select_from(Attendance)).one() == 0
    failure = wdb.exec(select(ScanFailure)).one()
    assert failure.reason == "site_not_participating"


