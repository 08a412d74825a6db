"""A small hand-checked world for the effectiveness report, written as rows directly
(banks, forms, phone answers with and without codes, room tallies), so the report's
tests depend on no answering or tally service.

The test tree (tests/conftest.py Tree): central › hub A (HCM) › wards A1, A2; central ›
hub B (HN) › ward B1. Present (headcounts): A1 10, A2 20, B1 8, hub B 5, central 0.

One bank of three test questions: Q1 single (A right), Q2 single (B right), Q3 multi
(A and B right, C wrong). Pre-test and post-test ask it; a survey asks a rating.

Pre-test:  An @A1 (code) Q1 A, Q2 A, Q3 A → 1/3 (33.33); Bình @A1 (code) A, B, AB → 3/3;
           a phone @A2 (no code) B, B, AC → 1/3; tally @B1 Q1 A3 B1, Q2 A2 B2, Q3 A3 B2
           → 5 right of 8 scored (the multi is not scored in a tally), 4 people.
Post-test: An @A1 A, B, AB → 3/3 (100); Bình @A1 A, B, A → 2/3 (66.67); the phone @A2
           A, B, AB → 3/3; Cường @B1 (code, no pre-test) A, B, A → 2/3;
           tally @B1 Q1 A4, Q2 B3 A1 → 7 of 8, 4 people.
Survey:    An @A1 rates 5, the phone @A2 rates 3, tally @B1 r4 2, r5 1.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session

from app.accounts.models import User
from checkin import headcounts
from checkin.answer_models import FormAnswer, FormChoice, FormTally
from sessions import service as sessions_service
from sessions.form_models import (
    BankOption,
    BankQuestion,
    FormKind,
    FormStatus,
    QuestionBank,
    QuestionKind,
    TrainingForm,
)
from sessions.models import SessionCreate
from tests.checkin.support import Roster
from tests.conftest import Tree

PRESENT = {"ward_a1": 10, "ward_a2": 20, "ward_b1": 8, "hub_b": 5}


@dataclass
class EffectWorld:
    """Ids of what the world made: forms, questions, options by letter."""

    pre: int = 0
    post: int = 0
    survey: int = 0
    q: dict[str, int] = field(default_factory=dict)  # "Q1".."Q3", "R"
    o: dict[str, int] = field(default_factory=dict)  # "Q1A", "Q3C", …
    nonce: int = 0


def _bank(db: Session, cid: int, title: str, questions: list[tuple[str, QuestionKind, str,
                                                                   str]], w: EffectWorld) -> int:
    """A bank; each question (name, kind, text, options): one letter per option, upper
    case when the option is correct."""
    bank = QuestionBank(conference_id=cid, title=title)
    db.add(bank)
    db.flush()
    assert bank.id is not None
    for position, (name, kind, text, options) in enumerate(questions, start=1):
        q = BankQuestion(bank_id=bank.id, position=position, kind=kind, text=text)
        db.add(q)
        db.flush()
        assert q.id is not None
        w.q[name] = q.id
        for i, letter in enumerate(options, start=1):
            option = BankOption(question_id=q.id, position=i, label=f"Phương án {letter.upper()}",
                                correct=letter.isupper())
            db.add(option)
            db.flush()
            assert option.id is not None
            w.o[f"{name}{letter.upper()}"] = option.id
    return bank.id


def _form(db: Session, cid: int, session_id: int, bank_id: int, kind: FormKind,
          title: str) -> int:
    form = TrainingForm(conference_id=cid, session_id=session_id, bank_id=bank_id, kind=kind,
                        title=title, status=FormStatus.closed)
    db.add(form)
    db.flush()
    assert form.id is not None
    return form.id


def answer(db: Session, w: EffectWorld, *, form_id: int, site_id: int, cid: int,
           attendee_id: int | None, picks: dict[str, str], rating: int | None = None,
           right: int = 0, scored: int = 0) -> None:
    """A phone's answer: `picks` {"Q1": "A", "Q3": "AC"}; `rating` for the survey's R."""
    w.nonce += 1
    row = FormAnswer(conference_id=cid, form_id=form_id, site_id=site_id,
                     attendee_id=attendee_id,
                     device=None if attendee_id else f"device-{w.nonce:04d}",
                     nonce=f"nonce-{w.nonce:04d}", scored=scored, correct=right,
                     score=round(100.0 * right / scored, 2) if scored else None,
                     answered_at=datetime(2025, 9, 9, 3, 0, tzinfo=UTC))
    db.add(row)
    db.flush()
    assert row.id is not None
    for name, letters in picks.items():
        for letter in letters:
            db.add(FormChoice(answer_id=row.id, form_id=form_id, site_id=site_id,
                              question_id=w.q[name], option_id=w.o[f"{name}{letter}"]))
    if rating is not None:
        db.add(FormChoice(answer_id=row.id, form_id=form_id, site_id=site_id,
                          question_id=w.q["R"], rating=rating))


def tally(db: Session, w: EffectWorld, *, form_id: int, site_id: int, cid: int,
          counts: dict[str, dict[str, int]], respondents: int) -> None:
    """A room's tally: counts {"Q1": {"A": 3}} or {"R": {"r4": 2}} by name."""
    typed = {str(w.q[name]): {(k if k.startswith("r") else str(w.o[f"{name}{k}"])): n
                              for k, n in by.items()} for name, by in counts.items()}
    db.add(FormTally(conference_id=cid, form_id=form_id, site_id=site_id,
                     respondents=respondents, counts=typed))


def make_effect_world(db: Session, admin: User, tree: Tree, roster: Roster) -> EffectWorld:
    """The world of the module docstring, committed."""
    cid, w = tree.cid, EffectWorld()
    for name, total in PRESENT.items():
        headcounts.report_headcount(db, site_id=getattr(tree, name), session_id=None,
                                    counts={"dai_bieu": total}, actor=admin)
    session = sessions_service.create_session(db, conference_id=cid, data=SessionCreate(
        title="Phiên tập huấn", starts_at=datetime(2025, 9, 9, 8, 0),
        ends_at=datetime(2025, 9, 9, 11, 0)), actor=admin)
    assert session.id is not None
    bank = _bank(db, cid, "Bộ câu hỏi chuyển đổi số", [
        ("Q1", QuestionKind.single, "Chuyển đổi số là gì?", "Ab"),
        ("Q2", QuestionKind.single, "Chữ ký số dùng để làm gì?", "aB"),
        ("Q3", QuestionKind.multi, "Dịch vụ công nào trực tuyến?", "ABc"),
    ], w)
    rated = _bank(db, cid, "Phiếu khảo sát", [
        ("R", QuestionKind.rating, "Anh/chị hài lòng với khoá học?", ""),
    ], w)
    w.pre = _form(db, cid, session.id, bank, FormKind.pretest, "Kiểm tra đầu vào")
    w.post = _form(db, cid, session.id, bank, FormKind.posttest, "Kiểm tra đầu ra")
    w.survey = _form(db, cid, session.id, rated, FormKind.survey, "Khảo sát cuối khoá")
    an, binh, cuong = roster.an.id, roster.binh.id, roster.cuong.id
    a1, a2, b1 = tree.ward_a1, tree.ward_a2, tree.ward_b1

    def test(form_id: int, site_id: int, who: int | None, picks: str, right: int) -> None:
        q1, q2, q3 = picks.split()
        answer(db, w, form_id=form_id, site_id=site_id, cid=cid, attendee_id=who,
               picks={"Q1": q1, "Q2": q2, "Q3": q3}, right=right, scored=3)

    test(w.pre, a1, an, "A A A", 1)
    test(w.pre, a1, binh, "A B AB", 3)
    test(w.pre, a2, None, "B B AC", 1)
    tally(db, w, form_id=w.pre, site_id=b1, cid=cid, respondents=4, counts={
        "Q1": {"A": 3, "B": 1}, "Q2": {"A": 2, "B": 2}, "Q3": {"A": 3, "B": 2}})
    test(w.post, a1, an, "A B AB", 3)
    test(w.post, a1, binh, "A B A", 2)
    test(w.post, a2, None, "A B AB", 3)
    test(w.post, b1, cuong, "A B A", 2)
    tally(db, w, form_id=w.post, site_id=b1, cid=cid, respondents=4, counts={
        "Q1": {"A": 4}, "Q2": {"B": 3, "A": 1}})
    answer(db, w, form_id=w.survey, site_id=a1, cid=cid, attendee_id=an, picks={}, rating=5)
    answer(db, w, form_id=w.survey, site_id=a2, cid=cid, attendee_id=None, picks={}, rating=3)
    tally(db, w, form_id=w.survey, site_id=b1, cid=cid, respondents=3,
          counts={"R": {"r4": 2, "r5": 1}})
    db.commit()
    return w
