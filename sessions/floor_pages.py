"""The chair's page: the floor of a session on a tablet, live over /ws/floor.

The page only renders the frame; the queue, the speaker and the questions arrive over
the socket and every action goes to the JSON API (sessions/floor_routes.py) with the
CSRF header, like the presenter console.
"""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.db import ReadDbSession
from app.deps import AdminUser
from app.templating import render_page
from endpoints import service as endpoints_service
from endpoints.models import SITE_KIND_LABELS, Participation, Site, SiteKind
from sessions import service
from sessions.models import SESSION_STATUS_LABELS

router = APIRouter(include_in_schema=False)

#: The limits the chair picks with one touch (seconds; None: no limit).
LIMITS = (120, 180, 300)


def script_json(data: Any) -> Markup:
    """JSON for a `<script type="application/json">`: no "<" at all, so nothing ends it."""
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return Markup(text)  # noqa: S704 - escaped above


def hubs_of(db: Session, *, conference_id: int) -> list[dict[str, Any]]:
    """The conference's hubs (the chair's hub filter), in list order, by its names."""
    rows = db.execute(
        sa_select(col(Participation.site_id), col(Participation.name))
        .join(Site, col(Site.id) == col(Participation.site_id))
        .where(col(Participation.conference_id) == conference_id, col(Site.kind) == SiteKind.hub)
        .order_by(col(Participation.sort_path))
    ).all()
    return [{"id": int(r[0]), "name": str(r[1])} for r in rows]


def chair_data(db: Session, *, session_id: int, conference_id: int, closed: bool) -> dict[str, Any]:
    """What chair.js (and the console's floor panel) needs besides the socket."""
    return {
        "session_id": session_id,
        "conference_id": conference_id,
        "closed": closed,
        "hubs": hubs_of(db, conference_id=conference_id),
        "kinds": [{"id": k.value, "name": SITE_KIND_LABELS[k]} for k in SiteKind
                  if k not in (SiteKind.central, SiteKind.hub)] + [
                      {"id": SiteKind.hub.value, "name": SITE_KIND_LABELS[SiteKind.hub]}],
        "limits": list(LIMITS),
    }


@router.get("/sessions/{session_id}/chair", response_class=HTMLResponse)
def chair_page(session_id: int, request: Request, db: ReadDbSession, user: AdminUser) -> Response:
    """The chair's floor: speaker and timer, the queue, the written questions."""
    session = service.get_session(db, session_id=session_id, actor=user)
    conference = endpoints_service.get_conference(
        db, conference_id=session.conference_id, actor=user
    )
    data = chair_data(db, session_id=session_id, conference_id=session.conference_id,
                      closed=session.status == "closed")
    return render_page(request, user, "sessions/chair.html", {
        "SESSION_STATUS_LABELS": SESSION_STATUS_LABELS,
        "conference": conference,
        "session": session,
        "chair_json": script_json(data),
    })
