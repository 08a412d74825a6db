"""JSON API of the follow page's written questions (no login: the follow link is the
credential, the personal code optional)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.db import DbSession
from app.deps import HubDep, SettingsDep
from app.errors import AppError
from app.text import clean_text
from app.throttle_deps import ThrottleDep, client_address
from checkin import follow_questions
from checkin.follow_question_throttle import (
    QUESTION_RATE,
    RATE_DETAIL,
    code_attempts,
)

router = APIRouter(prefix="/api/v1", tags=["floor"])

MAX_QUESTION = 1000  # as sessions' FloorQuestion.text


def _text(value: str) -> str:
    return clean_text(value, max_length=MAX_QUESTION, field="Câu hỏi")


class FollowQuestion(BaseModel):
    """A question from the follow page; `code`: the attendee's personal code, if offered."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, AfterValidator(_text), Field(min_length=1, max_length=4000)]
    code: Annotated[str | None, Field(max_length=20)] = None


class FollowQuestionPublic(BaseModel):
    id: int
    session_id: int
    text: str
    status: str
    asked_at: datetime
    signed: bool  # sent with a personal code


@router.post(
    "/follow/{token}/questions", response_model=FollowQuestionPublic, status_code=201,
    responses={403: {"description": "personal_code_wrong (nothing stored)"},
               404: {"description": "follow_link_invalid"},
               409: {"description": "no_session_on_stage, session_closed"},
               410: {"description": "follow_link_revoked, follow_link_expired"},
               429: {"description": "too_many_attempts (Retry-After)"}},
)
def ask_follow_question(
    token: Annotated[str, Path(max_length=200)], data: FollowQuestion, request: Request,
    db: DbSession, settings: SettingsDep, hub: HubDep, throttle: ThrottleDep,
) -> FollowQuestionPublic:
    """An attendee sends a written question for the session on stage, with or without
    their personal code. Rate-limited per client; a wrong code counts as a guess."""
    client = client_address(request)
    misses = code_attempts(client)
    throttle.check(*misses)
    db.rollback()  # hold no SQLite write lock while the throttle writes (through the gate)
    throttle.count((QUESTION_RATE, client), detail=RATE_DETAIL)
    try:
        question = follow_questions.ask(db, token=token, text=data.text, code=data.code,
                                        settings=settings, publish=hub.publish)
    except AppError as exc:
        db.rollback()  # before the throttle writes (through the gate, on SQLite)
        if exc.code == "personal_code_wrong":
            throttle.failed(*misses)
        raise
    return FollowQuestionPublic(id=question.id, session_id=question.session_id,
                                text=question.text, status=str(question.status),
                                asked_at=question.asked_at,
                                signed=question.attendee_id is not None)
