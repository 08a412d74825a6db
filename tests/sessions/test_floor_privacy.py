"""The floor's personal data: an attendee's questions listed and erased, a conference's
speakers, topics and questions blanked by the purge, sites and times kept (SQLite and
PostgreSQL)."""

from sqlmodel import Session, select

from app.accounts.models import User
from app.audit.models import AuditKey
from checkin import roster as checkin_roster
from checkin.models import Attendee, AttendeeCreate
from sessions import floor_privacy, floor_questions, minutes
from sessions.floor_models import FloorQuestion, FloorRequest
from tests.conftest import Tree
from tests.sessions.floor_support import spoken_session
from tests.sessions.support import Recorder


def _attendee(db: Session, admin: User, tree: Tree) -> Attendee:
    made = checkin_roster.create_attendees(
        db, conference_id=tree.cid, actor=admin,
        items=[AttendeeCreate(full_name="Nguyễn Văn An", site_id=tree.ward_a1)])
    return made[0]


def test_an_attendees_questions_are_listed_then_erased_alone(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    person = _attendee(db, admin, tree)
    assert person.id is not None
    sent = floor_questions.ask_on_stage(db, conference_id=tree.cid, publish=Recorder(),
                                        attendee_id=person.id, text="Tôi là An, xin hỏi…")
    listed = floor_privacy.attendee_questions(db, attendee_id=person.id)
    assert [(q.id, q.text, q.status_label, q.session_id) for q in listed] == [
        (sent.id, "Tôi là An, xin hỏi…", "chờ duyệt", spoken.session_id)]
    db.add(sent)  # a moderated question is an audited write: its text sealed under a key
    sent.text = "Tôi là An, xin hỏi lại…"
    db.commit()
    subject = f"floor_question:{sent.id}"
    assert db.exec(select(AuditKey).where(AuditKey.subject == subject)).first() is not None
    assert floor_privacy.erase_attendee_questions(db, attendee_ids=[person.id]) == 1
    db.commit()
    db.expire_all()
    row = db.get(FloorQuestion, sent.id)
    assert row is not None
    assert (row.text, row.attendee_id) == (floor_privacy.ERASED_QUESTION, None)
    assert db.exec(select(AuditKey).where(AuditKey.subject == subject)).first() is None
    assert floor_privacy.attendee_questions(db, attendee_id=person.id) == []
    other = db.get(FloorQuestion, spoken.approved_id)
    assert other is not None and other.text != floor_privacy.ERASED_QUESTION


def test_the_purge_blanks_names_topics_and_texts_and_keeps_the_record(
    db: Session, tree: Tree, admin: User, coordinator_a: User
) -> None:
    spoken = spoken_session(db, tree, admin, coordinator_a)
    before = minutes.minutes_report(db, session_id=spoken.session_id, actor=admin)
    assert floor_privacy.floor_to_purge(db, conference_id=tree.cid) == (2, 4)
    assert floor_privacy.purge_floor(db, conference_id=tree.cid) == (2, 4)
    db.commit()
    db.expire_all()
    for req in db.exec(select(FloorRequest)).all():
        assert (req.speaker_name, req.speaker_position, req.topic) == ("", "", "")
        assert req.site_id in (tree.ward_a1, tree.ward_a2) and req.started_at is not None
    texts = set(db.exec(select(FloorQuestion.text)).all())
    assert texts == {floor_privacy.PURGED_QUESTION}
    after = minutes.minutes_report(db, session_id=spoken.session_id, actor=admin)
    assert [s.site_id for s in after.speeches] == [s.site_id for s in before.speeches]
    assert after.total_seconds == before.total_seconds == 205
    assert [q.weight for q in after.questions] == [2, 1]
    assert floor_privacy.floor_to_purge(db, conference_id=tree.cid) == (0, 0)
