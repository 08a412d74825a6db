"""The site page's roll-call forms: one-tap readiness (đã kiểm tra / sẵn sàng / báo sự
cố, with a short note) and the connection-test checklist. Each posts, then redirects
back to the site page (post/redirect/get), or to the headcount page the tap came from."""

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from app.db import DbSession
from app.deps import CsrfChecked, CurrentUser, HubDep
from app.templating import add_globals
from endpoints import rollcall
from endpoints.models import ConnectionTestCreate, Readiness

router = APIRouter(include_in_schema=False)

ConferenceParam = Annotated[int | None, Query(ge=1)]
# An incident needs a reason; a tap without a note still says where it came from.
DEFAULT_INCIDENT = "Điểm cầu báo sự cố"
# The desk's headcount page queues an incident offline with this same reason.
add_globals(DEFAULT_INCIDENT=DEFAULT_INCIDENT)


class ReadinessForm(BaseModel):
    """Which button was tapped, and the note typed above the buttons."""

    readiness: Literal["tested", "ready", "incident"]
    note: Annotated[str, Field(max_length=200)] = ""
    # Where the tap came from: the site page, or the desk's headcount page (which the
    # desk keeps offline, so a coordinator finds the buttons there without network).
    back: Literal["site", "headcount"] = "site"


class CheckForm(BaseModel):
    """The connection-test checklist: an unticked box is a failed check."""

    picture: bool = False
    sound: bool = False
    link: bool = False
    note: Annotated[str, Field(max_length=200)] = ""


def _back(site_id: int, conference_id: int | None, msg: str,
          back: str = "site") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("conference_id", conference_id), ("msg", msg))
                       if v is not None})
    if back == "headcount":
        return RedirectResponse(f"/sites/{site_id}/headcount?{query}#tinh-trang",
                                status_code=303)
    return RedirectResponse(f"/sites/{site_id}?{query}#tinh-trang", status_code=303)


@router.post("/sites/{site_id}/readiness", dependencies=[CsrfChecked])
def readiness_submit(
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    hub: HubDep,
    form: Annotated[ReadinessForm, Form()],
    conference_id: ConferenceParam = None,
) -> Response:
    """One tap: the site is tested or ready (its open incidents close), or has a problem."""
    note = form.note.strip() or None
    if form.readiness == "incident":
        rollcall.report_incident(
            db, site_id=site_id, reason=note or DEFAULT_INCIDENT, actor=user,
            publish=hub.publish, conference_id=conference_id,
        )
        return _back(site_id, conference_id, "incident_reported", form.back)
    rollcall.declare_ready(
        db, site_id=site_id,
        readiness=Readiness.ready if form.readiness == "ready" else Readiness.tested,
        note=note, actor=user,
        publish=hub.publish, conference_id=conference_id,
    )
    return _back(site_id, conference_id, f"declared_{form.readiness}", form.back)


@router.post("/sites/{site_id}/connection-test", dependencies=[CsrfChecked])
def connection_test_submit(
    site_id: int,
    db: DbSession,
    user: CurrentUser,
    hub: HubDep,
    form: Annotated[CheckForm, Form()],
    conference_id: ConferenceParam = None,
) -> Response:
    """Record the checklist: all good → "đã kiểm tra", anything failed → an incident."""
    data = ConnectionTestCreate(picture=form.picture, sound=form.sound, link=form.link,
                                note=form.note.strip() or None)
    rollcall.record_connection_test(
        db, site_id=site_id, data=data, actor=user, publish=hub.publish,
        conference_id=conference_id,
    )
    passed = form.picture and form.sound and form.link
    return _back(site_id, conference_id, "test_passed" if passed else "test_failed")
