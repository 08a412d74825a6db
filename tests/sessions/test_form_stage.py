"""Running a form from the console: open, close, reopen, hide, show results; the stage
message carries it; answers are refused once closed (SQLite and PostgreSQL)."""

import json
from collections.abc import Callable

import pytest
from sqlmodel import Session

from app.accounts.models import User
from app.errors import AppError
from sessions import events, form_bank, form_stage, service, stage
from sessions.form_models import FormStatus, TrainingForm
from tests.conftest import Tree
from tests.sessions.floor_support import on_stage
from tests.sessions.form_support import make_form
from tests.sessions.support import Recorder, error_code, new_session, state_update


def _stage_msgs(pub: Recorder, cid: int) -> list[dict[str, object]]:
    return [json.loads(m) for c, m in pub.calls if c == events.stage_channel(cid)]


def _form(db: Session, form_id: int) -> TrainingForm:
    db.expire_all()
    form = db.get(TrainingForm, form_id)
    assert form is not None
    return form


def test_open_puts_the_form_on_every_screen_and_closes_the_other_open_form(
    db: Session, tree: Tree, admin: User
) -> None:
    sid = on_stage(db, tree, admin)
    first = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    second = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid,
                       title="Khảo sát").form_id
    pub = Recorder()
    before = stage.get_stage(db, conference_id=tree.cid).version
    view = form_stage.open_form(db, form_id=first, actor=admin, publish=pub)
    assert view.version == before + 1
    assert view.form is not None and view.form.id == first and view.form.status == "open"
    assert not view.form.results and view.form.kind_label == "Kiểm tra đầu vào"
    sent = _stage_msgs(pub, tree.cid)
    assert len(sent) == 1 and sent[0]["form"] == {
        "id": first, "kind": "pretest", "kind_label": "Kiểm tra đầu vào",
        "title": "Kiểm tra đầu vào", "status": "open", "results": False, "results_version": 0}
    assert _form(db, first).opened_at is not None
    view = form_stage.open_form(db, form_id=second, actor=admin, publish=Recorder())
    assert view.form is not None and view.form.id == second
    closed = _form(db, first)
    assert closed.status == FormStatus.closed and closed.closed_at is not None
    assert _form(db, second).status == FormStatus.open


def test_close_refuses_answers_reopen_takes_them_again(
    db: Session, tree: Tree, admin: User
) -> None:
    sid = on_stage(db, tree, admin)
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    with pytest.raises(AppError) as exc:  # a draft takes no answer
        form_bank.require_open(form_bank.form_for_answers(db, form_id=fid)[0])
    assert error_code(exc) == (409, "form_not_open")
    form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    form_bank.require_open(form_bank.form_for_answers(db, form_id=fid)[0])  # taken
    pub = Recorder()
    view = form_stage.close_form(db, form_id=fid, actor=admin, publish=pub)
    assert view.form is not None and view.form.status == "closed"  # "Phiếu đã đóng"
    assert _stage_msgs(pub, tree.cid)[0]["form"]["status"] == "closed"  # type: ignore[index]
    # The answer path reads the row each time: the next answer is refused.
    with pytest.raises(AppError) as exc:
        form_bank.require_open(form_bank.form_for_answers(db, form_id=fid)[0])
    assert error_code(exc) == (409, "form_closed")
    opened_at = _form(db, fid).opened_at
    again = Recorder()
    assert form_stage.close_form(db, form_id=fid, actor=admin, publish=again).form is not None
    assert again.calls == []  # closing a closed form changes nothing
    view = form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    reopened = _form(db, fid)
    assert reopened.status == FormStatus.open and reopened.closed_at is None
    assert reopened.opened_at == opened_at
    form_bank.require_open(form_bank.form_for_answers(db, form_id=fid)[0])


def test_refusals_carry_codes(db: Session, tree: Tree, admin: User,
                              coordinator_a: User) -> None:
    sid = on_stage(db, tree, admin)
    elsewhere = new_session(db, tree, admin)
    off = make_form(db.get_bind(), conference_id=tree.cid, session_id=elsewhere).form_id
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    cases: list[tuple[Callable[[], object], tuple[int, str]]] = [
        (lambda: form_stage.open_form(db, form_id=fid, actor=coordinator_a,
                                      publish=Recorder()), (403, "admin_only")),
        (lambda: form_stage.open_form(db, form_id=999_999, actor=admin, publish=Recorder()),
         (404, "form_not_found")),
        (lambda: form_stage.open_form(db, form_id=off, actor=admin, publish=Recorder()),
         (409, "session_not_on_stage")),
        (lambda: form_stage.close_form(db, form_id=fid, actor=admin, publish=Recorder()),
         (409, "form_not_open")),
        (lambda: form_stage.show_results(db, form_id=fid, results_json="{}", actor=admin,
                                         publish=Recorder()), (409, "form_not_closed")),
    ]
    for call, expected in cases:
        with pytest.raises(AppError) as exc:
            call()
        assert error_code(exc) == expected
        db.rollback()
    form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    with pytest.raises(AppError) as exc:  # still open: answers arrive
        form_stage.show_results(db, form_id=fid, results_json="{}", actor=admin,
                                publish=Recorder())
    assert error_code(exc) == (409, "form_not_closed")
    assert _form(db, off).status == FormStatus.draft


def test_show_results_then_hide(db: Session, tree: Tree, admin: User) -> None:
    sid = on_stage(db, tree, admin)
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    form_stage.close_form(db, form_id=fid, actor=admin, publish=Recorder())
    pub = Recorder()
    view = service.show_form_results(db, form_id=fid, results_json='{"questions":[]}',
                                     actor=admin, publish=pub)
    assert view.form is not None and view.form.results and view.form.results_version == 1
    assert _stage_msgs(pub, tree.cid)[0]["form"]["results"] is True  # type: ignore[index]
    view = form_stage.show_results(db, form_id=fid, results_json='{"questions":[]}',
                                   actor=admin, publish=Recorder())
    assert view.form is not None and view.form.results_version == 2
    assert _form(db, fid).results_json == '{"questions":[]}'
    pub = Recorder()
    view = form_stage.hide_form(db, form_id=fid, actor=admin, publish=pub)
    assert view.form is None and _stage_msgs(pub, tree.cid)[0]["form"] is None
    quiet = Recorder()
    assert form_stage.hide_form(db, form_id=fid, actor=admin, publish=quiet).form is None
    assert quiet.calls == []  # not on the screens: nothing to change


def test_moving_the_stage_or_closing_the_session_clears_the_form(
    db: Session, tree: Tree, admin: User
) -> None:
    sid = on_stage(db, tree, admin)
    fid = make_form(db.get_bind(), conference_id=tree.cid, session_id=sid).form_id
    form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    other = new_session(db, tree, admin)
    view = stage.set_state(db, session_id=other, data=state_update(), actor=admin,
                           publish=Recorder())
    assert view.form is None
    stage.set_state(db, session_id=sid, data=state_update(), actor=admin, publish=Recorder())
    assert stage.get_stage(db, conference_id=tree.cid).form is None  # stays off
    form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    service.close_session(db, session_id=sid, actor=admin, publish=Recorder())
    assert stage.get_stage(db, conference_id=tree.cid).form is None
    with pytest.raises(AppError) as exc:
        form_stage.open_form(db, form_id=fid, actor=admin, publish=Recorder())
    assert error_code(exc) == (409, "session_closed")
