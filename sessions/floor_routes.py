"""JSON API of the floor: asks, the chair's decisions, written questions, the minutes."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict
from sqlmodel import SQLModel

from app.config import Settings
from app.db import DbSession, ReadDbSession, WriteGate, WriteGateDep
from app.deps import (
    BearerToken,
    CookieCsrf,
    CurrentUser,
    HubDep,
    SettingsDep,
    TokenCache,
    TokenCacheDep,
    find_user,
)
from app.realtime import Hub
from app.throttle import Throttle
from app.throttle_deps import ThrottleDep, client_address
from sessions import floor, floor_questions, floor_site_view, floor_throttle, floor_view
from sessions.floor_models import (
    FloorAsk,
    FloorDecline,
    FloorGive,
    FloorLimit,
    FloorQueuePublic,
    FloorRequestPublic,
    QuestionAsk,
    QuestionModerate,
    QuestionPublic,
)
from sessions.floor_view import QUEUE_ROWS
from sessions.models import StagePublic
from sessions.routes import stage_public

router = APIRouter(prefix="/api/v1", tags=["floor"])


class SiteFloorAsk(FloorAsk):
    """An ask names the site it is for (a hub coordinator runs several)."""

    site_id: int


class SiteQuestionAsk(QuestionAsk):
    site_id: int


class ShownQuestion(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    question_id: int | None


@router.post(
    "/sessions/{session_id}/floor/requests", response_model=FloorRequestPublic,
    status_code=201, dependencies=[CookieCsrf],
    responses={200: {"description": "the site's open request, changed"},
               409: {"description": "session_closed"},
               429: {"description": "too_many_attempts (per site and per client)"}},
)
async def ask_floor(
    session_id: int, data: SiteFloorAsk, request: Request, bearer: BearerToken,
    gate: WriteGateDep, settings: SettingsDep, hub: HubDep, cache: TokenCacheDep,
    throttle: ThrottleDep,
) -> Response:
    """A site asks for the floor; a second ask changes its open request (200)."""
    status, body = await gate.run(_ask_and_encode, request, session_id, data, bearer, gate,
                                  settings, hub, cache, throttle)
    # Encoded in the worker thread; the declared response_model documents the shape.
    return Response(body, status_code=status, media_type="application/json")


def _ask_and_encode(
    request: Request, session_id: int, data: SiteFloorAsk, bearer: str | None,
    gate: WriteGate, settings: Settings, hub: Hub, cache: TokenCache, throttle: Throttle,
) -> tuple[int, bytes]:
    """Auth, the scope, the rate, the ask and its JSON in one hop to the write gate, as a
    check-in does: 4,000 sites asking within 10 s through plain sync dependencies held a
    pool connection for the login and SQLite's write lock from the first read each, and
    the pool ran dry (bench/floor.py: 500s after 30 s waits)."""
    user = find_user(request, db=gate.read_session, settings=settings, bearer=bearer, cache=cache)
    count = partial(floor_throttle.count_ask, throttle, site_id=data.site_id,
                    client=client_address(request))
    with gate.session() as db:
        req, created, names = floor.ask(db, session_id=session_id, site_id=data.site_id,
                                        data=data, actor=user, publish=hub.publish, count=count)
    public = floor_view.request_public(req, names)
    return 201 if created else 200, public.model_dump_json().encode()


@router.get(
    "/sessions/{session_id}/floor/sites/{site_id}", response_model=list[FloorRequestPublic]
)
def site_floor(
    session_id: int, site_id: int, db: ReadDbSession, user: CurrentUser
) -> list[FloorRequestPublic]:
    """A site's requests in a session, newest first."""
    return floor_view.site_requests(db, session_id=session_id, site_id=site_id, actor=user)


@router.get("/sites/{site_id}/floor", response_model=floor_site_view.SiteFloorPublic)
def site_floor_now(
    site_id: int, db: ReadDbSession, user: CurrentUser
) -> floor_site_view.SiteFloorPublic:
    """The coordinator's phone: the session on stage of the site's current conference,
    the site's latest request (status, place in the queue) and its questions."""
    return floor_site_view.site_floor(db, site_id=site_id, actor=user)


@router.post(
    "/floor/requests/{request_id}/withdraw", response_model=FloorRequestPublic,
    dependencies=[CookieCsrf],
    responses={409: {"description": "floor_request_withdrawn / floor_request_not_open"},
               429: {"description": "too_many_attempts (per site and per client)"}},
)
def withdraw_floor(
    request_id: int, db: DbSession, user: CurrentUser, hub: HubDep, request: Request,
    throttle: ThrottleDep,
) -> FloorRequestPublic:
    """The site takes back its open request."""
    client = client_address(request)
    req = floor.withdraw(db, request_id=request_id, actor=user, publish=hub.publish,
                         count=lambda site: floor_throttle.count_ask(throttle, site_id=site,
                                                                     client=client))
    return floor_view.request_public(req, floor_view.names_of(db, req))


@router.get("/sessions/{session_id}/floor", response_model=FloorQueuePublic)
def floor_queue(
    session_id: int, db: ReadDbSession, user: CurrentUser, hub_id: int | None = None,
    kind: str | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = QUEUE_ROWS,
) -> Response:
    """The chair's view: speaker, the first `limit` open requests in the order asked and
    how many wait in all (`waiting`), questions."""
    queue = floor_view.queue(db, session_id=session_id, actor=user, hub_id=hub_id, kind=kind,
                             limit=limit)
    # Encoded once from our own model (a chair polls it while thousands of sites ask);
    # the declared response_model documents the shape.
    return Response(queue.model_dump_json(), media_type="application/json")


@router.post(
    "/floor/requests/{request_id}/give", response_model=StagePublic,
    dependencies=[CookieCsrf],
    responses={409: {"description": "floor_request_not_open / session_not_on_stage"}},
)
def give_floor(
    request_id: int, data: FloorGive, db: DbSession, user: CurrentUser, hub: HubDep
) -> StagePublic:
    """Give the floor to a site (ends the previous speaker); the new stage."""
    view = floor.give(db, request_id=request_id, limit_seconds=data.limit_seconds,
                      actor=user, publish=hub.publish)
    return stage_public(view)


@router.post(
    "/floor/requests/{request_id}/decline", response_model=FloorRequestPublic,
    dependencies=[CookieCsrf],
)
def decline_floor(
    request_id: int, data: FloorDecline, db: DbSession, user: CurrentUser, hub: HubDep
) -> FloorRequestPublic:
    """Decline an open request with a short reason."""
    req = floor.decline(db, request_id=request_id, reason=data.reason, actor=user,
                        publish=hub.publish)
    return floor_view.request_public(req, floor_view.names_of(db, req))


@router.post(
    "/sessions/{session_id}/floor/end", response_model=StagePublic, dependencies=[CookieCsrf],
    responses={409: {"description": "floor_no_speaker"}},
)
def end_floor(session_id: int, db: DbSession, user: CurrentUser, hub: HubDep) -> StagePublic:
    """End the current speaker; the screens clear the banner."""
    return stage_public(floor.end(db, session_id=session_id, actor=user, publish=hub.publish))


@router.put(
    "/sessions/{session_id}/floor/limit", response_model=StagePublic,
    dependencies=[CookieCsrf],
)
def floor_limit(
    session_id: int, data: FloorLimit, db: DbSession, user: CurrentUser, hub: HubDep
) -> StagePublic:
    """Set or clear the current speaker's time limit."""
    return stage_public(floor.set_limit(db, session_id=session_id,
                                        limit_seconds=data.limit_seconds, actor=user,
                                        publish=hub.publish))


@router.post(
    "/sessions/{session_id}/questions", response_model=QuestionPublic, status_code=201,
    dependencies=[CookieCsrf],
    responses={429: {"description": "too_many_attempts (per site and per client)"}},
)
def ask_question(
    session_id: int, data: SiteQuestionAsk, db: DbSession, user: CurrentUser, hub: HubDep,
    request: Request, throttle: ThrottleDep,
) -> QuestionPublic:
    """A coordinator sends a written question for their site."""
    count = partial(floor_throttle.count_question, throttle, site_id=data.site_id,
                    client=client_address(request))
    question = floor_questions.ask_for_site(db, session_id=session_id, site_id=data.site_id,
                                            text=data.text, actor=user, publish=hub.publish,
                                            count=count)
    return floor_view.question_public(question, floor_view.question_names(db, question))


@router.post(
    "/questions/{question_id}/moderate", response_model=QuestionPublic,
    dependencies=[CookieCsrf],
)
def moderate_question(
    question_id: int, data: QuestionModerate, db: DbSession, user: CurrentUser, hub: HubDep
) -> QuestionPublic:
    """Approve, hide or merge a question (central office)."""
    question = floor_questions.moderate(db, question_id=question_id, data=data, actor=user,
                                        publish=hub.publish)
    return floor_view.question_public(question, floor_view.question_names(db, question))


@router.put(
    "/sessions/{session_id}/questions/shown", response_model=StagePublic,
    dependencies=[CookieCsrf],
)
def show_question(
    session_id: int, data: ShownQuestion, db: DbSession, user: CurrentUser, hub: HubDep
) -> StagePublic:
    """Put an approved question on every screen (`null`: take it off)."""
    return stage_public(floor_questions.show(db, session_id=session_id,
                                             question_id=data.question_id, actor=user,
                                             publish=hub.publish))
