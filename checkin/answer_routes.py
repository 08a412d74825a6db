"""JSON API of the phones' answers to training forms (no login: the site's answer code
and the personal code are the credentials)."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.audit.context import Actor, current_actor
from app.config import Settings
from app.db import ReadDbSession, WriteGate, WriteGateDep
from app.deps import HubDep, SettingsDep
from app.direct import json_body, replay, respond
from app.errors import AppError
from app.group_commit import Outcome
from app.realtime import Hub
from app.throttle import Throttle
from app.throttle_deps import ThrottleDep, client_address
from checkin import answer_batch, answers
from checkin.answer_models import AnswerPublic, AnswerSubmit
from checkin.answer_throttle import answer_attempts, count_answer, count_view
from checkin.answer_view import AskedForm, asked_form

router = APIRouter(prefix="/api/v1", tags=["forms"])
#: Seconds a client's "no wrong codes" from the throttle store is trusted on this path
#: (another worker's count of its wrong codes reaches this one at most this late).
GUESS_CHECK_FRESH = 30.0
MAX_ID = 2**31 - 1
FormId = Annotated[int, Path(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class AnswerJob:
    """One phone's answer waiting for the gate, with what its batch needs."""

    form_id: int
    data: AnswerSubmit
    client: str
    gate: WriteGate
    settings: Settings
    hub: Hub
    throttle: Throttle
    # The request's audit actor (its address): the batch runs in a context of its own.
    actor: Actor = field(default_factory=current_actor)


def answer_jobs(jobs: list[AnswerJob]) -> list[Outcome[answers.Answered]]:
    """The answers that queued together, in the gate's thread: each one's rate and code
    check, then all of them in one transaction (`answers.submit_many`), then each wrong
    code's count (SQLite: the throttle's table is written here, never under the batch's
    write lock). All jobs of a batch come from one app: one gate, hub, throttle."""
    first = jobs[0]
    outcomes: list[Outcome[answers.Answered] | None] = [None] * len(jobs)
    ready: list[int] = []
    # One store read for the batch's codes, not one per answer (usually none waits).
    first.throttle.prefetch([answer_attempts(j.client) for j in jobs if j.data.code],
                            fresh=GUESS_CHECK_FRESH)
    for i, job in enumerate(jobs):
        try:
            if job.data.code:
                # A venue's phones share an address: its store read is trusted a while.
                first.throttle.check(*answer_attempts(job.client), fresh=GUESS_CHECK_FRESH)
            count_answer(first.throttle, job.client)
            ready.append(i)
        except AppError as exc:
            outcomes[i] = exc
    with first.gate.session() as db:
        stored = answer_batch.submit_many(
            db, items=[(jobs[i].form_id, jobs[i].data) for i in ready],
            settings=first.settings, publish=first.hub.publish,
            actors=[jobs[i].actor for i in ready])
    for i, outcome in zip(ready, stored, strict=True):
        outcomes[i] = outcome
        if isinstance(outcome, AppError) and outcome.code == "personal_code_wrong":
            first.throttle.failed(*answer_attempts(jobs[i].client))
    return [o for o in outcomes if o is not None]


def answer_in_gate(job: AnswerJob) -> answers.Answered:
    """One answer alone, in the gate's thread (the no-script page's path)."""
    outcome = answer_jobs([job])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@router.post(
    "/forms/{form_id}/answers", response_model=AnswerPublic, status_code=201,
    responses={200: {"description": "a retry with the same nonce: the stored answer",
                     "model": AnswerPublic},
               403: {"description": "personal_code_wrong (nothing stored)"},
               404: {"description": "form_not_found, site_not_in_conference"},
               409: {"description": "form_not_open, form_closed, form_already_answered, "
                                    "nonce_reused"},
               422: {"description": "answer_invalid, answer_site_unknown"},
               429: {"description": "too_many_attempts (Retry-After)"}},
)
async def submit_answer(
    form_id: FormId, data: AnswerSubmit, request: Request, gate: WriteGateDep,
    settings: SettingsDep, hub: HubDep, throttle: ThrottleDep,
) -> Response:
    """A phone answers an open form: 201 stored, 200 the same answer again (same nonce).
    Once per attendee (personal code) or per phone (`device`, anonymous). Rate-limited
    per client address; a wrong personal code counts as a guess."""
    return await _answered(form_id, data, request, gate=gate, settings=settings, hub=hub,
                           throttle=throttle)


async def _answered(form_id: int, data: AnswerSubmit, request: Request, *, gate: WriteGate,
                    settings: Settings, hub: Hub, throttle: Throttle) -> Response:
    client = client_address(request)
    throttle.check_cached(*answer_attempts(client))  # known to wait: no hop to the gate
    # Answers that arrive while the gate is busy go in together: one hop, one COMMIT.
    answered = await gate.group(answer_jobs).submit(
        AnswerJob(form_id, data, client, gate, settings, hub, throttle))
    return Response(answered.answer.model_dump_json(),
                    status_code=201 if answered.created else 200,
                    media_type="application/json")


#: The answers' path, for the shortcut past FastAPI's machinery (`app.direct`).
ANSWERS_PATH = r"/api/v1/forms/(?P<form_id>[1-9][0-9]{0,9})/answers"


async def answer_direct(scope: Scope, receive: Receive, send: Send, declared: ASGIApp) -> None:
    """`submit_answer` without FastAPI's request machinery (`app.direct`): the same checks
    and answers, the same error bodies; a body that is not a valid answer in JSON goes to
    the declared route, which refuses it as usual (422)."""
    request = Request(scope, receive)
    body = await request.body()
    form_id = int(scope["path_params"]["form_id"])
    data = json_body(request, body, AnswerSubmit) if form_id <= MAX_ID else None
    if data is None:
        await declared(scope, replay(body, receive), send)
        return
    state = request.app.state
    await respond(request, send, _answered(
        form_id, data, request, gate=state.write_gate, settings=state.settings,
        hub=state.hub, throttle=state.throttle))


@router.get(
    "/forms/{form_id}/questions", response_model=AskedForm,
    responses={404: {"description": "form_not_found"},
               409: {"description": "form_not_open (a draft)"},
               429: {"description": "too_many_attempts (Retry-After)"}},
)
def form_questions(form_id: FormId, request: Request, db: ReadDbSession,
                   throttle: ThrottleDep) -> AskedForm:
    """A form's questions and options, for phones: public while open or closed, never
    which options are correct. Rate-limited per client address."""
    count_view(throttle, client_address(request))
    return asked_form(db, form_id=form_id)
