"""The printable minutes of a session (A4, Vietnamese), in the attendance report's style."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.db import ReadDbSession
from app.deps import CurrentUser
from app.templating import LOCAL_TZ, render
from endpoints import service as endpoints_service
from sessions import minutes

router = APIRouter(include_in_schema=False)


@router.get("/sessions/{session_id}/minutes", response_class=HTMLResponse)
def minutes_page(
    request: Request, session_id: int, db: ReadDbSession, user: CurrentUser
) -> Response:
    """Who spoke, for how long, and the approved questions, ready to print."""
    report = minutes.minutes_report(db, session_id=session_id, actor=user)
    conference = endpoints_service.get_conference(db, conference_id=report.conference_id,
                                                  actor=user)
    minutes.note_view(db, report, where="print")
    request.state.user = user
    return render(request, "sessions/minutes.html", {
        "conference": conference,
        "session": report.minutes.session,
        "report": report,
        "tab": "sessions",
        "clock": minutes.clock,
        "sender": minutes.sender,
        "generated_local": report.generated_at.astimezone(LOCAL_TZ),
    })
