"""What a form's answers and tallies add up to: the one place that counts them.

Phone answers count by their rows in `form_choice`; a room's tally adds its typed counts
option by option. How many people a tally stands for on a question
(:func:`tally_question_respondents`): for a single choice or a rating, the sum of its
counts; for a multiple choice, the largest option count (each person may tick several).
A tally's right answers (:func:`tally_right`): for a single choice, the count of the
correct option; a multiple choice in a tally is never scored (who ticked exactly the
right set cannot be told from per-option counts), so its responses are left out of the
scored total too. Score means are 100 × right / scored responses, phones and tallies alike.
"""

import json
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from typing import cast

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from checkin.answer_models import FormAnswer, FormChoice, FormTally
from sessions import service as sessions_service
from sessions.service import (
    CHOICE_KINDS,
    TEST_KINDS,
    BankView,
    QuestionKind,
    QuestionView,
    option_letter,
)


def tally_question_respondents(q: QuestionView, counts: dict[str, int]) -> int:
    """How many people a tally's counts for one question stand for."""
    values = [max(0, int(v)) for v in counts.values()]
    if not values:
        return 0
    return max(values) if q.kind == QuestionKind.multi else sum(values)


def tally_respondents(bank: BankView, counts: dict[str, dict[str, int]]) -> int:
    """How many people a whole tally stands for: the most on any one question."""
    return max((tally_question_respondents(q, counts.get(str(q.id), {}))
                for q in bank.questions), default=0)


def tally_right(bank: BankView, counts: dict[str, dict[str, int]]) -> tuple[int, int]:
    """(right, scored responses) of a tally: single-choice test questions only."""
    right = scored = 0
    for q in bank.questions:
        if q.kind != QuestionKind.single or not q.correct_ids:
            continue
        typed = counts.get(str(q.id), {})
        scored += tally_question_respondents(q, typed)
        right += sum(int(typed.get(str(o), 0)) for o in q.correct_ids)
    return right, scored


@dataclass
class OptionResult:
    id: int
    letter: str
    label: str
    correct: bool
    count: int = 0


@dataclass
class QuestionResult:
    id: int
    position: int
    kind: str
    text: str
    respondents: int = 0
    options: list[OptionResult] = field(default_factory=list)
    #: Right answers among the respondents (tests' choice questions), else None.
    right: int | None = None
    ratings: dict[int, int] = field(default_factory=dict)
    rating_mean: float | None = None
    texts: int = 0

    @property
    def right_share(self) -> float | None:
        """Percent of respondents who answered right (None when not scored)."""
        if self.right is None or not self.respondents:
            return None
        return round(100.0 * self.right / self.respondents, 1)


@dataclass
class FormResults:
    form_id: int
    kind: str
    title: str
    answers: int = 0  # phone answers
    tallied: int = 0  # people the rooms' tallies stand for
    questions: list[QuestionResult] = field(default_factory=list)

    def to_json(self) -> str:
        body = asdict(self)
        for q, result in zip(body["questions"], self.questions, strict=True):
            q["right_share"] = result.right_share
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _blank(q: QuestionView, scored: bool) -> QuestionResult:
    return QuestionResult(
        id=q.id, position=q.position, kind=str(q.kind), text=q.text,
        options=[OptionResult(o.id, option_letter(o.position), o.label, o.correct)
                 for o in q.options],
        right=0 if scored and q.kind in CHOICE_KINDS and q.correct_ids else None)


def _phone_rows(db: Session, form_id: int, sites: Collection[int] | None) -> Iterable[
        tuple[int, int, int | None, int | None, bool]]:
    """(answer, question, option, rating, has text) of every choice of the form."""
    query = sa_select(col(FormChoice.answer_id), col(FormChoice.question_id),
                      col(FormChoice.option_id), col(FormChoice.rating),
                      col(FormChoice.text).is_not(None)).where(col(FormChoice.form_id) == form_id)
    if sites is not None:
        query = query.where(col(FormChoice.site_id).in_(list(sites)))
    # Rows unpack like tuples (Result.tuples() is deprecated in SQLAlchemy 2.1).
    return cast("list[tuple[int, int, int | None, int | None, bool]]", db.execute(query).all())


def _add_phones(by_id: dict[int, QuestionResult], bank: BankView,
                rows: Iterable[tuple[int, int, int | None, int | None, bool]]) -> None:
    picked: dict[tuple[int, int], set[int]] = {}
    for answer_id, qid, option_id, rating, has_text in rows:
        result = by_id.get(qid)
        if result is None:
            continue
        if option_id is not None:
            picked.setdefault((answer_id, qid), set()).add(option_id)
        elif rating is not None:
            result.ratings[rating] = result.ratings.get(rating, 0) + 1
            result.respondents += 1
        elif has_text:
            result.texts += 1
            result.respondents += 1
    option_counts: Counter[int] = Counter()
    for (_, qid), options in picked.items():
        result = by_id[qid]
        result.respondents += 1
        option_counts.update(options)
        q = bank.question(qid)
        if result.right is not None and q is not None and options == q.correct_ids:
            result.right += 1
    for result in by_id.values():
        for o in result.options:
            o.count += option_counts[o.id]


def _add_tally(by_id: dict[int, QuestionResult], bank: BankView,
               counts: dict[str, dict[str, int]]) -> None:
    for q in bank.questions:
        typed = counts.get(str(q.id), {})
        result = by_id[q.id]
        if q.kind == QuestionKind.rating:
            for value in range(1, 6):
                n = int(typed.get(f"r{value}", 0))
                if n:
                    result.ratings[value] = result.ratings.get(value, 0) + n
        else:
            for o in result.options:
                o.count += int(typed.get(str(o.id), 0))
        if q.kind == QuestionKind.multi and result.right is not None:
            continue  # not scored in a tally: its people are not respondents of the score
        result.respondents += tally_question_respondents(q, typed)
        if result.right is not None:
            result.right += sum(int(typed.get(str(o), 0)) for o in q.correct_ids)


def form_results(db: Session, *, form_id: int, sites: Collection[int] | None = None
                 ) -> FormResults:
    """The form's results over all its sites, or over `sites` only."""
    form, bank = sessions_service.form_for_answers(db, form_id=form_id)
    scored = form.kind in TEST_KINDS
    results = FormResults(form_id=form_id, kind=str(form.kind), title=form.title,
                          questions=[_blank(q, scored) for q in bank.questions])
    by_id = {r.id: r for r in results.questions}
    answers = select(func.count()).select_from(FormAnswer).where(FormAnswer.form_id == form_id)
    tallies = select(FormTally).where(FormTally.form_id == form_id)
    if sites is not None:
        answers = answers.where(col(FormAnswer.site_id).in_(list(sites)))
        tallies = tallies.where(col(FormTally.site_id).in_(list(sites)))
    results.answers = int(db.exec(answers).one())
    _add_phones(by_id, bank, _phone_rows(db, form_id, sites))
    for tally in db.exec(tallies).all():
        results.tallied += tally.respondents
        _add_tally(by_id, bank, tally.counts)
    for r in results.questions:
        rated = sum(r.ratings.values())
        if rated:
            r.rating_mean = round(sum(k * v for k, v in r.ratings.items()) / rated, 2)
    return results


def counts_by_site(db: Session, *, form_id: int) -> dict[int, int]:
    """Answers per site: phone answers plus the people of the site's tally."""
    counts, tallies = count_parts_by_site(db, form_id=form_id)
    for site_id, respondents in tallies.items():
        counts[site_id] = counts.get(site_id, 0) + respondents
    return counts


def count_parts_by_site(db: Session, *, form_id: int) -> tuple[dict[int, int], dict[int, int]]:
    """(phone answers, the people of the tally) per site, apart: the live counters add
    one per answer but replace a tally (sessions.form_feed)."""
    phones: dict[int, int] = {}
    for site_id, n in db.exec(
        select(FormAnswer.site_id, func.count()).where(FormAnswer.form_id == form_id)
        .group_by(col(FormAnswer.site_id))
    ).all():
        phones[site_id] = int(n)
    tallies: dict[int, int] = {}
    for site_id, respondents in db.exec(
        select(FormTally.site_id, FormTally.respondents).where(FormTally.form_id == form_id)
    ).all():
        tallies[site_id] = respondents
    return phones, tallies
