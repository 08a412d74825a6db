"""/ws/follow: an attendee's phone following the stage, read-only, by a follow link.

The same stream as a site screen (snapshot, versioned changes, resume with since=),
authorised by the signed follow token instead of a screen token. A revoked (rotated)
or expired link is closed 4401 with reason `follow_link_revoked` / `follow_link_expired`.
"""

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app import ws
from app.config import Settings
from app.deps import connection_read_engine, connection_settings
from app.errors import AppError
from sessions import events, follow_links
from sessions.errors import FollowLinkInvalid
from sessions.ws import MAX_MESSAGES_PER_MINUTE, StageFollower, open_stage

router = APIRouter()


async def _conference(websocket: WebSocket, token: str, settings: Settings) -> int | str:
    """The conference of a follow link, or why not (the close reason). A forged or
    malformed token is refused by its signature: no lookup, no thread hop; a genuine
    one is decided from memory when the conference's link state was read lately."""
    claims = follow_links.read(token=token, secret=settings.secret_key)
    if claims is None:
        return "invalid_token"
    engine = connection_read_engine(websocket)
    try:
        # Phones reconnecting together (a restart, a Wi-Fi blip) mostly skip the hop.
        known = follow_links.conference_if_known(engine, claims=claims)
    except AppError as exc:
        return exc.code
    if known is not None:
        return known
    return await run_in_threadpool(_check, engine, token, settings)


def _check(engine: Engine, token: str, settings: Settings) -> int | str:
    with Session(engine) as db:
        try:
            return follow_links.conference_of(db, token=token, secret=settings.secret_key,
                                              grace_days=settings.follow_grace_days)
        except AppError as exc:
            return "invalid_token" if isinstance(exc, FollowLinkInvalid) else exc.code


@router.websocket("/ws/follow")
async def follow_socket(websocket: WebSocket) -> None:
    """Snapshot then changes of the conference named by the follow token."""
    settings = connection_settings(websocket)
    if await ws.refuse_foreign_origin(websocket, settings.allowed_origins):
        return
    query = ws.query_of(websocket)
    conference_id = await _conference(websocket, ws.query_token(query, max_chars=500), settings)
    since = ws.query_int(query, "since")
    await websocket.accept()
    if isinstance(conference_id, str):
        await websocket.close(code=ws.CLOSE_UNAUTHORIZED, reason=conference_id)
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
