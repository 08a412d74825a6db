"""The presenter runs a training form like a slide: open, close, reopen, hide, show results.

Admin only. Each command locks the stage row, changes the form, bumps the stage's version,
commits, then publishes the stage (its `form`), like `stage.set_state` and the floor's
`give`. One form is open per conference: opening another closes the previous one.
The answer path reads the form row on every answer (`form_bank.form_for_answers`), so a
closed form refuses answers at once on every worker. The results a form shows are
counted by checkin (`checkin.form_show`), which hands them in frozen as JSON.
"""

from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit_service
from app.db import utcnow
from app.realtime import Publish
from sessions import errors
from sessions.events import StageView
from sessions.form_models import FormStatus, TrainingForm
from sessions.loading import load_session
from sessions.models import SessionStatus, Stage
from sessions.stage import announce, build_view, locked_stage, restage


def _locked_form(db: Session, form_id: int) -> TrainingForm:
    form = db.exec(
        select(TrainingForm).where(TrainingForm.id == form_id)
        .with_for_update().execution_options(populate_existing=True)
    ).first()
    if form is None:
        raise errors.FormNotFound()
    return form


def _stage_on_form_session(db: Session, form: TrainingForm) -> Stage:
    """The locked stage, which must show the form's session (a live one)."""
    session = load_session(db, form.session_id)
    if session.status == SessionStatus.closed:
        raise errors.SessionClosed()
    stage = locked_stage(db, form.conference_id)
    if stage is None or stage.session_id != form.session_id:
        raise errors.SessionNotOnStage()
    return stage


def _commit(db: Session, form: TrainingForm, values: dict[str, object] | None,
            publish: Publish) -> StageView:
    """Bump the stage (when it shows the form's session), commit, then publish."""
    try:
        view = None
        if values is not None:
            view = restage(db, conference_id=form.conference_id, session_id=form.session_id,
                           values=values)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    announce(publish, view)
    return view if view is not None else build_view(db, form.conference_id)


def open_form(db: Session, *, form_id: int, actor: User, publish: Publish) -> StageView:
    """Open a form (a draft, or a closed one again) and put it on every screen."""
    accounts_service.require_admin(actor)
    form = _locked_form(db, form_id)
    _stage_on_form_session(db, form)
    now = utcnow()
    others = db.exec(
        select(TrainingForm).where(
            TrainingForm.conference_id == form.conference_id,
            TrainingForm.status == FormStatus.open, col(TrainingForm.id) != form_id)
        .with_for_update()
    ).all()
    for other in others:  # one form open per conference
        other.status = FormStatus.closed
        other.closed_at = now
        db.add(other)
    if form.status != FormStatus.open:
        form.status = FormStatus.open
        form.opened_at = form.opened_at or now  # the first opening; a reopen keeps it
        form.closed_at = None
        db.add(form)
    db.flush()
    return _commit(db, form, {"form_id": form_id, "form_results": False}, publish)


def close_form(db: Session, *, form_id: int, actor: User, publish: Publish) -> StageView:
    """Close an open form: no answer is taken from now on; screens show "đã đóng".
    409 form_not_open for a draft; closing a closed form changes nothing."""
    accounts_service.require_admin(actor)
    form = _locked_form(db, form_id)
    if form.status == FormStatus.draft:
        raise errors.FormNotOpen("Phiếu chưa được mở nên không cần đóng.")
    if form.status == FormStatus.closed:
        db.rollback()
        return build_view(db, form.conference_id)
    form.status = FormStatus.closed
    form.closed_at = utcnow()
    db.add(form)
    db.flush()
    return _commit(db, form, _if_shown(db, form, {}), publish)


def _if_shown(db: Session, form: TrainingForm, values: dict[str, object]
              ) -> dict[str, object] | None:
    """`values` when the stage shows the form (its screens must follow), else None."""
    stage = locked_stage(db, form.conference_id)
    if stage is None or stage.form_id != form.id:
        return None
    return values


def hide_form(db: Session, *, form_id: int, actor: User, publish: Publish) -> StageView:
    """Take the form off the screens (its status stays)."""
    accounts_service.require_admin(actor)
    form = _locked_form(db, form_id)
    values = _if_shown(db, form, {"form_id": None, "form_results": False})
    if values is not None:
        # The stage row is written by a statement the ORM listener cannot see.
        audit_service.record(db, action="hide", object_type="training_form",
                             object_id=form_id, conference_id=form.conference_id)
    return _commit(db, form, values, publish)


def show_results(
    db: Session, *, form_id: int, results_json: str, actor: User, publish: Publish
) -> StageView:
    """Show a closed form's results (frozen as given) on every screen; each showing is a
    new `results_version`, which screens fetch the charts of once."""
    accounts_service.require_admin(actor)
    form = _locked_form(db, form_id)
    if form.status != FormStatus.closed:
        raise errors.FormNotClosed()
    _stage_on_form_session(db, form)
    form.results_json = results_json
    form.results_version += 1
    db.add(form)
    db.flush()
    return _commit(db, form, {"form_id": form_id, "form_results": True}, publish)


def readable_form(db: Session, *, form_id: int, actor: User) -> TrainingForm:
    """A form, for the central office (the console)."""
    accounts_service.require_admin(actor)
    form = db.get(TrainingForm, form_id)
    if form is None:
        raise errors.FormNotFound()
    return form


def session_forms(db: Session, *, session_id: int, actor: User) -> list[TrainingForm]:
    """The forms of a session in the order they were made (the console's panel)."""
    accounts_service.require_admin(actor)
    return list(db.exec(select(TrainingForm).where(TrainingForm.session_id == session_id)
                        .order_by(col(TrainingForm.id))).all())
