"""Headcount reports: replace the earlier report, keep history, refuse bad reports."""


import pytest
from sqlmodel import Session

from app.accounts.models import User
from checkin import attendance as checkin_attendance
from checkin import errors
from checkin import headcounts as checkin_headcounts
from checkin.models import Headcount
from endpoints import errors as endpoints_errors
from endpoints import site_changes
from endpoints.models import Readiness, SiteUpdate
from tests.checkin.support import count_rows, second_conference
from tests.conftest import Tree

# ---------------------------------------------------------------- headcounts


def test_report_headcount_replaces_earlier_keeps_history(
    wdb: Session, tree: Tree, coordinator_a: User
) -> None:
    first = checkin_headcounts.report_headcount(
        wdb,
        site_id=tree.ward_a2,
        session_id=None,
        counts={"dai_bieu": 40, "khach_moi": 3},
        actor=coordinator_a,
    )
    second = checkin_headcounts.report_headcount(
        wdb, site_id=tree.ward_a2, session_id=None, counts={"dai_bieu": 42}, actor=coordinator_a
    )
    assert (first.total, second.total) == (43, 42)
    history = checkin_headcounts.list_headcounts(wdb, site_id=tree.ward_a2, actor=coordinator_a)
    assert [(h.total, h.superseded) for h in history] == [(42, False), (43, True)]
    summary = checkin_attendance.attendance_summary(
        wdb, conference_id=tree.cid, actor=coordinator_a
    )
    assert summary.headcount == 42  # replaced, not added
    assert count_rows(wdb, Headcount, superseded=False) == 1


def test_report_headcount_refusals(
    wdb: Session, tree: Tree, coordinator_a: User, admin: User
) -> None:
    with pytest.raises(endpoints_errors.SiteOutOfScope):
        checkin_headcounts.report_headcount(
            wdb, site_id=tree.ward_b1, session_id=None, counts={"dai_bieu": 1}, actor=coordinator_a
        )
    with pytest.raises(errors.InvalidHeadcount):
        checkin_headcounts.report_headcount(
            wdb, site_id=tree.ward_a1, session_id=None, counts={"dai_bieu": -1}, actor=coordinator_a
        )
    with pytest.raises(errors.InvalidHeadcount):
        checkin_headcounts.report_headcount(
            wdb, site_id=tree.ward_a1, session_id=None, counts={"robots": 1}, actor=coordinator_a
        )
    site_changes.update_site(
        wdb,
        site_id=tree.ward_a1,
        actor=admin,
        data=SiteUpdate(readiness=Readiness.not_participating),
    )
    with pytest.raises(errors.SiteNotParticipating) as exc:
        checkin_headcounts.report_headcount(
            wdb, site_id=tree.ward_a1, session_id=None, counts={"dai_bieu": 1}, actor=coordinator_a
        )
    assert exc.value.status_code == 409




def test_report_headcount_is_per_conference_of_the_site(
    wdb: Session, tree: Tree, admin: User
) -> None:
    second = second_conference(wdb, admin, tree, [tree.ward_a2])  # live: the site's current
    now = checkin_headcounts.report_headcount(
        wdb, site_id=tree.ward_a2, session_id=None, counts={"dai_bieu": 7}, actor=admin
    )
    then = checkin_headcounts.report_headcount(
        wdb, site_id=tree.ward_a2, session_id=None, counts={"dai_bieu": 40}, actor=admin,
        conference_id=tree.cid,
    )
    assert (now.conference_id, then.conference_id) == (second, tree.cid)
    # Neither replaced the other: each conference has its current report.
    assert count_rows(wdb, Headcount, superseded=False) == 2
    assert [h.total for h in checkin_headcounts.list_headcounts(
        wdb, site_id=tree.ward_a2, actor=admin)] == [7]
    assert [h.total for h in checkin_headcounts.list_headcounts(
        wdb, site_id=tree.ward_a2, actor=admin, conference_id=tree.cid)] == [40]
    with pytest.raises(endpoints_errors.SiteNotInConference):
        checkin_headcounts.report_headcount(
            wdb, site_id=tree.ward_b1, session_id=None, counts={"dai_bieu": 1}, actor=admin,
            conference_id=second,
        )
    assert count_rows(wdb, Headcount) == 2
