"""The session page's reopen button: undo "Kết thúc phiên" (central office)."""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from app.db import DbSession
from app.deps import AdminUser, CsrfChecked
from sessions import service

router = APIRouter(include_in_schema=False)


@router.post("/sessions/{session_id}/reopen", dependencies=[CsrfChecked])
def reopen_session_submit(session_id: int, db: DbSession, user: AdminUser) -> Response:
    """Reopen a closed session; one not closed gets the error page (409)."""
    service.reopen_session(db, session_id=session_id, actor=user)
    return RedirectResponse(f"/sessions/{session_id}?msg=session_reopened", status_code=303)
