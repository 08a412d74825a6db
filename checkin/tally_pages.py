"""The coordinator's tally page (phone or tablet): how many chose each option, typed in
a plain form (CSRF-checked, no script needed), posted to the same use case as the API."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.db import DbSession, ReadDbSession
from app.deps import CsrfChecked, CurrentUser, HubDep
from app.errors import AppError
from app.templating import render_page
from checkin import errors, tallies
from checkin import sites as checkin_sites
from checkin.answer_models import TallyPublic, TallySubmit
from checkin.answer_view import AskedForm, asked_form
from checkin.tallies import RATING_KEYS

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _page(request: Request, db: Session, user: User, form_id: int, site_id: int, *,
          error: str | None = None, values: dict[str, str] | None = None,
          status: int = 200) -> HTMLResponse:
    tally: TallyPublic = tallies.get_tally(db, form_id=form_id, site_id=site_id, actor=user)
    form = asked_form(db, form_id=form_id)
    if values is None:
        values = {name: str(tally.counts.get(q, {}).get(k, ""))
                  for name, (q, k) in field_names(form).items()}
    return render_page(request, user, "checkin/tally.html", {
        "form": form, "site_id": site_id, "tally": tally, "values": values, "error": error,
        "rating_keys": RATING_KEYS, "saved": request.query_params.get("msg") == "saved",
    }, status=status)


@router.get("/sites/{site_id}/forms/{form_id}/tally", response_class=HTMLResponse)
def tally_page(request: Request, site_id: Id, form_id: Id, db: ReadDbSession,
               user: CurrentUser) -> Response:
    """The form's questions with a count box per option (A, B, C…) and per rating 1–5."""
    return _page(request, db, user, form_id, site_id)


@router.get("/sites/{site_id}/forms/tally", response_class=HTMLResponse)
def current_tally_page(request: Request, site_id: Id, db: ReadDbSession, user: CurrentUser,
                       conference_id: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The site page's link: the tally of the form open (or last opened) in the
    conference, or a word that no form was opened yet."""
    site = checkin_sites.site_in(db, site_id=site_id, actor=user, conference_id=conference_id)
    form_id = tallies.latest_form(db, conference_id=site.conference_id)
    if form_id is None:
        return render_page(request, user, "checkin/tally.html", {
            "form": None, "site_id": site_id, "conference_id": site.conference_id})
    return RedirectResponse(f"/sites/{site_id}/forms/{form_id}/tally", status_code=303)


def field_names(form: AskedForm) -> dict[str, tuple[str, str]]:
    """The page's count boxes, `q<position>_<letter>` or `q<position>_r<1-5>`, and the
    tally keys they stand for: (question id, option id or "r<n>")."""
    names: dict[str, tuple[str, str]] = {}
    for q in form.questions:
        if q.kind == "rating":
            names.update({f"q{q.position}_{k}": (str(q.id), k) for k in RATING_KEYS})
        else:
            names.update({f"q{q.position}_{o.letter}": (str(q.id), str(o.id))
                          for o in q.options})
    return names


def counts_from_fields(form: AskedForm, fields: dict[str, str]) -> dict[str, dict[str, int]]:
    """The posted boxes as tally counts (blank: left out; unknown names: ignored)."""
    counts: dict[str, dict[str, int]] = {}
    for name, (question, key) in field_names(form).items():
        value = fields.get(name, "").strip()
        if not value:
            continue
        if not value.lstrip("-").isdigit() or len(value) > 7:
            raise errors.TallyInvalid("Số người phải là số nguyên.", field=name)
        counts.setdefault(question, {})[key] = int(value)
    return counts


async def _fields(request: Request) -> dict[str, str]:
    """The posted text fields (async: read before the handler's thread hop)."""
    raw = await request.form()  # already read (and cached) by the CSRF check
    return {k: v for k, v in raw.items() if isinstance(v, str)}


@router.post("/sites/{site_id}/forms/{form_id}/tally", dependencies=[CsrfChecked])
def tally_submit(request: Request, site_id: Id, form_id: Id, db: DbSession,
                 user: CurrentUser, hub: HubDep,
                 fields: Annotated[dict[str, str], Depends(_fields)]) -> Response:
    """Save the room's counts (replaces the earlier tally) and come back to the page."""
    try:
        data = TallySubmit(counts=counts_from_fields(asked_form(db, form_id=form_id), fields))
        tallies.set_tally(db, form_id=form_id, site_id=site_id, data=data, actor=user,
                          publish=hub.publish)
    except AppError as exc:
        db.rollback()
        return _page(request, db, user, form_id, site_id, error=exc.detail, values=fields,
                     status=exc.status_code)
    return RedirectResponse(f"/sites/{site_id}/forms/{form_id}/tally?msg=saved",
                            status_code=303)
