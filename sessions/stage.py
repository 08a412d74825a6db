"""The stage every screen follows: its versioned row, the view built from it, the command."""

from typing import Any

from sqlalchemy import Integer, bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import spool
from app.db import utcnow
from app.errors import NotFound
from app.realtime import Publish
from endpoints import service as endpoints_service
from sessions import decks, errors, events
from sessions.events import (
    StageFloor,
    StageForm,
    StageItem,
    StageQuestion,
    StageSession,
    StageSlide,
)
from sessions.events import StageView as StageView
from sessions.floor_models import FloorQuestion, FloorRequest, FloorStatus
from sessions.form_models import FORM_KIND_LABELS, TrainingForm
from sessions.loading import AgendaEntry, deck_of, load_session, session_items
from sessions.models import (
    AGENDA_KIND_LABELS,
    AgendaItem,
    AgendaKind,
    ConferenceSession,
    SessionStatus,
    SlideDeck,
    Stage,
    StateUpdate,
)

NEXT_ITEMS = 3


def _ensure_stage(db: Session, conference_id: int) -> None:
    # One row per conference, created by whoever comes first; never a read-then-insert.
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else pg_insert
    db.execute(
        insert(Stage)
        .values(conference_id=conference_id, version=0, changed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["conference_id"])
    )


def locked_stage(db: Session, conference_id: int) -> Stage | None:
    """The conference's stage row, locked for this transaction."""
    # FOR UPDATE on PostgreSQL: a concurrent command waits instead of overwriting ours.
    return db.exec(
        select(Stage)
        .where(Stage.conference_id == conference_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _bump(db: Session, conference_id: int, values: dict[str, Any]) -> None:
    # The increment happens in the database: two writers can never get the same version.
    db.execute(
        update(Stage)
        .where(col(Stage.conference_id) == conference_id)
        .values(version=col(Stage.version) + 1, changed_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )


def restage(
    db: Session,
    *,
    conference_id: int,
    session_id: int,
    values: dict[str, Any] | None = None,
) -> StageView | None:
    """Bump the stage when it shows `session_id`; the view to publish after commit, or None."""
    stage = locked_stage(db, conference_id)
    if stage is None or stage.session_id != session_id:
        return None
    _bump(db, conference_id, values or {})
    return build_view(db, conference_id)


_SESSIONS = ConferenceSession.__table__  # type: ignore[attr-defined]
# Core, built once: the ask's hot path runs it for every one of 4,000 asks.
_BUMP_FLOOR = (
    _SESSIONS.update().where(_SESSIONS.c.id == bindparam("session_id", type_=Integer))
    .values(floor_version=_SESSIONS.c.floor_version + 1).returning(_SESSIONS.c.floor_version)
)


def bump_floor(db: Session, *, session_id: int) -> int:
    """Count one change of a session's queue (in the database: no two get one number)."""
    return int(db.execute(_BUMP_FLOOR, {"session_id": session_id}).scalar_one())


def tell_chairs(publish: Publish, *, conference_id: int, session_id: int, version: int) -> None:
    """After commit: the chairs' views of the session read the queue again."""
    publish(events.floor_channel(conference_id),
            events.encode_floor_changed(session_id=session_id, version=version))


def announce(publish: Publish, view: StageView | None) -> None:
    """Publish a changed stage (after commit); nothing when the change did not touch it."""
    if view is not None:
        publish(events.stage_channel(view.conference_id), events.encode_stage("state", view))


def _stage_item(item: AgendaItem) -> StageItem:
    kind = AgendaKind(item.kind)
    return StageItem(
        id=item.id or 0,
        title=item.title,
        kind=kind.value,
        kind_label=AGENDA_KIND_LABELS[kind],
        speaker=item.speaker,
        position=item.position,
    )


def build_view(db: Session, conference_id: int) -> StageView:
    """What the conference's screens show, read fresh from the database."""
    title = endpoints_service.conference_title(db, conference_id=conference_id)
    if title is None:
        raise NotFound("Không tìm thấy hội nghị.")
    stage = db.exec(
        select(Stage)
        .where(Stage.conference_id == conference_id)
        .execution_options(populate_existing=True)
    ).first()
    if stage is None:
        return StageView(0, conference_id, title, None, None, (), None, None, utcnow())
    session_view = None
    item_view = None
    upcoming: tuple[StageItem, ...] = ()
    slide_view = None
    if stage.session_id is not None:
        # Fresh from the database: this transaction may have just changed its status.
        session = db.get(ConferenceSession, stage.session_id, populate_existing=True)
        if session is None:
            raise errors.SessionNotFound()
        session_view = StageSession(
            id=session.id or 0,
            title=session.title,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            status=SessionStatus(session.status).value,
        )
        items = session_items(db, stage.session_id)
        ids = [i.id for i in items]
        after = ids.index(stage.agenda_item_id) + 1 if stage.agenda_item_id in ids else 0
        if stage.agenda_item_id in ids:
            item_view = _stage_item(items[after - 1])
        upcoming = tuple(_stage_item(i) for i in items[after : after + NEXT_ITEMS])
        deck = deck_of(db, stage.agenda_item_id) if stage.agenda_item_id else None
        if deck is not None and deck.id is not None and stage.slide is not None:
            number = min(max(stage.slide, 1), deck.page_count)
            url = decks.page_url(deck.id, deck.key, number)
            slide_view = StageSlide(number, deck.page_count, url)
    return StageView(
        version=stage.version,
        conference_id=conference_id,
        conference_title=title,
        session=session_view,
        item=item_view,
        next=upcoming,
        slide=slide_view,
        notice=stage.notice,
        changed_at=stage.changed_at,
        floor=_floor_view(db, stage),
        question=_question_view(db, stage),
        form=_form_view(db, stage),
    )


def _form_view(db: Session, stage: Stage) -> StageForm | None:
    if stage.form_id is None:
        return None
    form = db.get(TrainingForm, stage.form_id, populate_existing=True)
    if form is None:
        return None
    return StageForm(id=stage.form_id, kind=str(form.kind), kind_label=FORM_KIND_LABELS[form.kind],
                     title=form.title, status=str(form.status), results=stage.form_results,
                     results_version=form.results_version)


def site_name_in(db: Session, *, conference_id: int, site_id: int) -> str:
    """A site's name as the conference knows it (the registry's when not invited)."""
    part = endpoints_service.participation_of(db, conference_id=conference_id, site_id=site_id)
    if part is not None and part.name:
        return part.name
    return endpoints_service.load_site(db, site_id).name


def _floor_view(db: Session, stage: Stage) -> StageFloor | None:
    if stage.speaker_id is None or stage.session_id is None:
        return None
    req = db.get(FloorRequest, stage.speaker_id, populate_existing=True)
    if req is None or req.session_id != stage.session_id or req.started_at is None:
        return None
    return StageFloor(
        request_id=stage.speaker_id,
        site_id=req.site_id,
        site_name=site_name_in(db, conference_id=stage.conference_id, site_id=req.site_id),
        speaker_name=req.speaker_name,
        speaker_position=req.speaker_position,
        topic=req.topic,
        started_at=req.started_at,
        limit_seconds=req.limit_seconds,
    )


def _question_view(db: Session, stage: Stage) -> StageQuestion | None:
    if stage.question_id is None or stage.session_id is None:
        return None
    question = db.get(FloorQuestion, stage.question_id, populate_existing=True)
    if question is None or question.session_id != stage.session_id:
        return None
    site = question.site_id
    return StageQuestion(
        id=stage.question_id,
        text=question.text,
        site_name=None if site is None else site_name_in(
            db, conference_id=stage.conference_id, site_id=site),
        weight=question.weight,
    )


def finish_speaker(db: Session, stage: Stage) -> FloorRequest | None:
    """End whoever has the floor on this (locked) stage; the request ended, if any."""
    if stage.speaker_id is None:
        return None
    req = db.get(FloorRequest, stage.speaker_id, populate_existing=True)
    if req is None or req.status != FloorStatus.speaking:
        return None
    req.status = FloorStatus.done
    req.ended_at = utcnow()
    req.changed_at = req.ended_at
    db.add(req)
    return req


def get_stage(db: Session, *, conference_id: int) -> StageView:
    """What the conference's screens show now (the caller has authorized the reader)."""
    return build_view(db, conference_id)


def stage_agenda(db: Session, *, conference_id: int) -> list[AgendaEntry]:
    """The agenda of the session on stage (empty when none); for follow-along links."""
    stage = db.get(Stage, conference_id)
    if stage is None or stage.session_id is None:
        return []
    return [AgendaEntry(i, None) for i in session_items(db, stage.session_id)]


def read_stage(db: Session, *, conference_id: int, actor: User) -> StageView:
    """The stage of a conference the actor takes part in."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    return build_view(db, conference_id)


def _target_slide(
    data: StateUpdate, stage: Stage, same_item: bool, deck: SlideDeck | None
) -> int | None:
    if "slide" in data.model_fields_set:
        slide = data.slide
        if slide is None:
            return None
        if deck is None:
            if slide != 1:
                raise errors.SlideOutOfRange("Mục này chưa có bài trình chiếu.")
            return None
        if not 1 <= slide <= deck.page_count:
            raise errors.SlideOutOfRange(
                f"Số trang phải từ 1 đến {deck.page_count}."
            )
        return slide
    if deck is None:
        return None
    if same_item and stage.slide is not None:
        return min(max(stage.slide, 1), deck.page_count)
    return 1


def set_state(
    db: Session, *, session_id: int, data: StateUpdate, actor: User, publish: Publish
) -> StageView:
    """Move what every screen shows: the agenda item, the slide, the notice."""
    accounts_service.require_admin(actor)
    try:
        view, left = _change_stage(db, session_id=session_id, data=data)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    # Slide changes come in runs: counted for the audit log's summary (the stage row is
    # written by statements the ORM listener cannot see).
    spool.spool_for(db.get_bind()).note(
        action="stage.change", object_type="stage", conference_id=view.conference_id,
        details=(("session_id", session_id),))
    announce(publish, view)
    if left is not None:
        tell_chairs(publish, conference_id=view.conference_id, session_id=left[0],
                    version=left[1])
    return view


def leave_floor(db: Session, stage: Stage) -> tuple[int, int] | None:
    """The (locked) stage leaves its session: end its speaker, take its question off.
    The session and its new floor version when its chairs' views changed, else None."""
    finish_speaker(db, stage)
    if stage.session_id is None or (stage.speaker_id is None and stage.question_id is None):
        return None
    return stage.session_id, bump_floor(db, session_id=stage.session_id)


def _change_stage(
    db: Session, *, session_id: int, data: StateUpdate
) -> tuple[StageView, tuple[int, int] | None]:
    session = load_session(db, session_id)
    if session.status == SessionStatus.closed:
        raise errors.SessionClosed()
    cid = session.conference_id
    stage = locked_stage(db, cid)
    if stage is None:  # the conference's first command: one INSERT, only then
        _ensure_stage(db, cid)
        stage = locked_stage(db, cid)
    assert stage is not None
    same_session = stage.session_id == session_id
    fields = data.model_fields_set
    if "agenda_item_id" in fields:
        item_id = data.agenda_item_id
    else:
        item_id = stage.agenda_item_id if same_session else None
    deck = None
    if item_id is not None:
        item = db.get(AgendaItem, item_id)
        if item is None or item.session_id != session_id:
            raise errors.AgendaItemNotInSession()
        deck = deck_of(db, item_id)
    same_item = same_session and item_id == stage.agenda_item_id
    slide = _target_slide(data, stage, same_item, deck)
    notice = data.notice if "notice" in fields else stage.notice
    started = db.execute(
        update(ConferenceSession)
        .where(
            col(ConferenceSession.id) == session_id,
            col(ConferenceSession.status) != SessionStatus.closed,
        )
        .values(status=SessionStatus.live)
        .execution_options(synchronize_session=False)
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.SessionClosed()  # closed by someone else meanwhile
    values: dict[str, Any] = {
        "session_id": session_id, "agenda_item_id": item_id, "slide": slide, "notice": notice}
    left = None
    if not same_session:  # the floor belongs to the session leaving the screens
        left = leave_floor(db, stage)
        values.update(speaker_id=None, question_id=None)
        values.update(form_id=None, form_results=False)  # so does its form
    _bump(db, cid, values)
    return build_view(db, cid), left
