"""The presenter shows a closed form's results on every screen: counted here (answers and
tallies are checkin's), frozen as JSON, then put on the stage by sessions."""

from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.realtime import Publish
from checkin.form_results import form_results
from sessions import service as sessions_service
from sessions.service import StageView


def show_results(db: Session, *, form_id: int, actor: User, publish: Publish) -> StageView:
    """Count the form's results over every site and show them (409 form_not_closed while
    it is open: answers still arrive)."""
    accounts_service.require_admin(actor)  # before counting: a refusal costs no read
    frozen = form_results(db, form_id=form_id).to_json()
    return sessions_service.show_form_results(db, form_id=form_id, results_json=frozen,
                                              actor=actor, publish=publish)
