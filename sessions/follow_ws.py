"""/ws/follow: an attendee's phone following the stage, read-only, by a follow link.

The same stream as a site screen (snapshot, versioned changes, resume with since=),
authorised by the signed follow token instead of a screen token.
"""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app import ws
from app.deps import connection_settings
from sessions import events
from sessions import service as sessions_service
from sessions.ws import MAX_MESSAGES_PER_MINUTE, StageFollower, open_stage

router = APIRouter()


@router.websocket("/ws/follow")
async def follow_socket(websocket: WebSocket) -> None:
    """Snapshot then changes of the conference named by the follow token."""
    settings = connection_settings(websocket)
    if await ws.refuse_foreign_origin(websocket, settings.allowed_origins):
        return
    query = ws.query_of(websocket)
    conference_id = sessions_service.conference_for_follow_token(
        token=ws.query_token(query, max_chars=500), secret=settings.secret_key
    )
    since = ws.query_int(query, "since")
    await websocket.accept()
    if conference_id is None:
        await websocket.close(code=ws.CLOSE_UNAUTHORIZED, reason="invalid_token")
        return
    if since == ws.BAD:
        await websocket.close(code=ws.CLOSE_BAD_REQUEST, reason="bad_since")
        return
    try:
        attachment = await open_stage(
            StageFollower(websocket, conference_id), since if isinstance(since, int) else None
        )
        if attachment is None:
            return
        try:
            await ws.receive_loop(
                websocket, per_minute=MAX_MESSAGES_PER_MINUTE, accept=events.is_heartbeat
            )
        finally:
            attachment.detach()
    except WebSocketDisconnect:
        pass
