"""/ws/follow: an attendee's phone following the stage, read-only, by a follow link.

The same stream as a site screen (snapshot, versioned changes, resume with since=),
authorised by the signed follow token instead of a screen token.
"""

from fastapi import APIRouter, WebSocket

from app.config import Settings
from sessions import service as sessions_service
from sessions.ws import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHORIZED,
    follow_stage,
    origin_ok,
    parse_since,
)

router = APIRouter()


@router.websocket("/ws/follow")
async def follow_socket(websocket: WebSocket) -> None:
    """Snapshot then changes of the conference named by the follow token."""
    settings: Settings = websocket.app.state.settings
    if not origin_ok(websocket, settings):
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    conference_id = sessions_service.conference_for_follow_token(
        token=websocket.query_params.get("token", "")[:500], secret=settings.secret_key
    )
    since = parse_since(websocket.query_params.get("since"))
    await websocket.accept()
    if conference_id is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid_token")
        return
    if since == "bad":
        await websocket.close(code=CLOSE_BAD_REQUEST, reason="bad_since")
        return
    await follow_stage(
        websocket, conference_id=conference_id, since=since if isinstance(since, int) else None
    )
