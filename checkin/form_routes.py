"""JSON API of a form's results (show, read, charts) and of the screens' answer link."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import BearerToken, CookieCsrf, CurrentUser, HubDep, SettingsDep, find_user
from checkin import answer_links, errors, form_charts, form_show
from checkin.form_results import form_results
from checkin.site_qr_routes import _qr_svg_text, _screen_token
from endpoints import service as endpoints_service
from endpoints.models import Site
from sessions import errors as sessions_errors
from sessions import service as sessions_service
from sessions.events import stage_body
from sessions.models import StagePublic
from sessions.service import TrainingForm

router = APIRouter(prefix="/api/v1", tags=["forms"])
_NO_STORE = {"Cache-Control": "private, no-store"}


def _form(db: Session, form_id: int) -> TrainingForm:
    form = db.get(TrainingForm, form_id)
    if form is None:
        raise sessions_errors.FormNotFound()
    return form


@router.post("/forms/{form_id}/results/show", response_model=StagePublic,
             dependencies=[CookieCsrf],
             responses={409: {"description": "form_not_closed, session_not_on_stage"}})
def show_results(form_id: int, db: DbSession, user: CurrentUser, hub: HubDep) -> StagePublic:
    """Count a closed form's results and show them on every screen (a new version each
    time: the screens fetch `/results/charts` once per version)."""
    view = form_show.show_results(db, form_id=form_id, actor=user, publish=hub.publish)
    return StagePublic.model_validate(stage_body(view))


@router.get("/forms/{form_id}/results", response_class=Response,
            responses={200: {"content": {"application/json": {}}}})
def read_results(form_id: int, db: ReadDbSession, user: CurrentUser) -> Response:
    """The form's results now: every site for the central office, a coordinator's subtree
    for a coordinator (per question: option counts, right share, rating mean)."""
    form = _form(db, form_id)
    endpoints_service.get_conference(db, conference_id=form.conference_id, actor=user)
    sites = None
    if not accounts_service.is_admin(user):
        sites = {i for i in db.exec(select(Site.id).where(
            *endpoints_service.scope_conds(db, user))).all() if i is not None}
    body = form_results(db, form_id=form_id, sites=sites).to_json()
    return Response(body, media_type="application/json", headers=_NO_STORE)


def _chart_reader(request: Request, db: Session, settings: SettingsDep, bearer: str | None,
                  conference_id: int) -> None:
    """A screen of a site where the conference is live, a follow link of the conference,
    or a user taking part in it; else 401/404."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "follow" and value.strip():
        cid = sessions_service.follow_conference(db, token=value.strip(),
                                                 secret=settings.secret_key,
                                                 grace_days=settings.follow_grace_days)
        if cid != conference_id:
            raise sessions_errors.FormNotFound()
        return
    token = _screen_token(request)
    if token is not None:
        screen = endpoints_service.screen_for_token(db, token=token)
        if screen is None:
            raise errors.ScreenTokenInvalid()
        if screen.conference_id != conference_id:
            raise sessions_errors.FormNotFound()
        return
    user: User = find_user(request, db=db, settings=settings, bearer=bearer)
    endpoints_service.get_conference(db, conference_id=conference_id, actor=user)


@router.get("/forms/{form_id}/results/charts", response_class=Response,
            responses={200: {"content": {"application/json": {}}},
                       404: {"description": "form_not_found, form_results_not_shown"}})
def results_charts(form_id: int, request: Request, db: ReadDbSession, settings: SettingsDep,
                   bearer: BearerToken) -> Response:
    """The charts of the results last shown, one SVG per question: `{"version", "charts":
    [{"question_id", "svg"}]}`. Auth: `Authorization: Screen <token>`, `Follow <token>`,
    or a user of the conference."""
    form = _form(db, form_id)
    _chart_reader(request, db, settings, bearer, form.conference_id)
    charts = form_charts.form_charts(db, form)
    return Response(charts.body, media_type="application/json", headers=_NO_STORE)


class ScreenFormLink(BaseModel):
    site_id: int
    code: str
    url: str
    short: str  # the link without its scheme, written out in large type
    svg: str


@router.get("/screen/form-link", response_model=ScreenFormLink, tags=["forms"])
def screen_form_link(request: Request, db: ReadDbSession,
                     settings: SettingsDep) -> ScreenFormLink:
    """For a site screen (`Authorization: Screen <token>`): its site's answer link
    `/a/<code>` (signed, never expires) and its QR as SVG."""
    screen = endpoints_service.screen_for_token(db, token=_screen_token(request) or "")
    if screen is None:
        raise errors.ScreenTokenInvalid()
    code = answer_links.site_answer_code(screen.site_id, settings)
    url = f"{str(request.base_url).rstrip('/')}/a/{code}"
    return ScreenFormLink(site_id=screen.site_id, code=code, url=url,
                          short=url.split("://", 1)[-1], svg=_qr_svg_text(url))

