"""The effectiveness report: did the training work, per site, hub, province and overall?

For a conference, a pair of tests (a pre-test and a post-test asking one bank; by
default the first such pair) and its surveys, per site: present (the attendance
report's, :func:`checkin.board.present`), answers per form (phones plus the rooms'
tallies, :func:`checkin.form_results.counts_by_site`), right answers and scored
responses of each test (phones' `correct`/`scored` plus :func:`tally_right`), the
attendees who took both tests with their own code (their score differences) and the
surveys' ratings. Every figure is a sum per site (`checkin.effectiveness_rows`); the
tree and its provinces are the attendance report's, so a coordinator sees their
subtree only. A handful of grouped queries per form, whatever the number of sites.
"""

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit_service
from app.audit import spool
from app.db import utcnow
from checkin import reports
from checkin.answer_models import FormAnswer, FormChoice, FormTally
from checkin.effectiveness_rows import (
    EffectRow,
    Figures,
    figures_body,
    hub_rows,
    province_rows,
    row_body,
    totals,
)
from checkin.errors import EffectPairNotFound
from checkin.form_results import counts_by_site, form_results, tally_right
from sessions import service as sessions_service
from sessions.service import FormKind, QuestionKind, TrainingForm

TOP_WRONG = 5


@dataclass(frozen=True)
class FormRef:
    """A form the report counts: id, kind and title."""

    id: int
    kind: str
    title: str


@dataclass(frozen=True)
class WrongQuestion:
    """A test question often answered wrong, with the wrong option chosen most."""

    position: int
    text: str
    respondents: int
    wrong: int
    wrong_share: float
    top_wrong: str | None  # "B. label", or None when no wrong option was picked
    top_wrong_count: int


@dataclass
class EffectReport:
    """Everything the JSON, the files and the pages show."""

    conference_id: int
    conference_title: str
    starts_on: date
    ends_on: date
    under_id: int | None
    under_name: str | None
    generated_at: datetime
    pre: FormRef | None
    post: FormRef | None
    surveys: list[FormRef]
    pairs: list[tuple[FormRef, FormRef]]
    totals: Figures
    sites: list[EffectRow]
    hubs: list[EffectRow]
    provinces: list[EffectRow]
    wrong_pre: list[WrongQuestion] = field(default_factory=list)
    wrong_post: list[WrongQuestion] = field(default_factory=list)

    @property
    def forms(self) -> list[FormRef]:
        """The forms with an answers column: pre-test, post-test, then the surveys."""
        return [f for f in (self.pre, self.post) if f is not None] + self.surveys

    def level(self, level: str) -> list[EffectRow]:
        """The rows of a level: site, hub or province."""
        return {"hub": self.hubs, "province": self.provinces}.get(level, self.sites)


def _ref(form: TrainingForm) -> FormRef:
    assert form.id is not None
    return FormRef(form.id, str(form.kind), form.title)


def test_pairs(db: Session, *, conference_id: int) -> list[tuple[FormRef, FormRef]]:
    """(pre-test, post-test) pairs sharing a bank, in order of the pre-tests: each pre-test
    with the first post-test of its bank."""
    forms = db.exec(select(TrainingForm).where(TrainingForm.conference_id == conference_id)
                    .order_by(col(TrainingForm.id))).all()
    posts: dict[int, TrainingForm] = {}
    for f in forms:
        if f.kind == FormKind.posttest:
            posts.setdefault(f.bank_id, f)
    return [(_ref(f), _ref(posts[f.bank_id])) for f in forms
            if f.kind == FormKind.pretest and f.bank_id in posts]


def _surveys(db: Session, conference_id: int) -> list[FormRef]:
    return [_ref(f) for f in db.exec(
        select(TrainingForm).where(TrainingForm.conference_id == conference_id,
                                   TrainingForm.kind == FormKind.survey)
        .order_by(col(TrainingForm.id))).all()]


def _scores(db: Session, form_id: int) -> dict[int, tuple[int, int]]:
    """(right, scored) per site: the phones' sums plus the rooms' tallies."""
    out: dict[int, tuple[int, int]] = {}
    for site_id, right, scored in db.execute(
        sa_select(col(FormAnswer.site_id), func.sum(col(FormAnswer.correct)),
                  func.sum(col(FormAnswer.scored)))
        .where(col(FormAnswer.form_id) == form_id).group_by(col(FormAnswer.site_id))
    ).all():
        out[int(site_id)] = (int(right or 0), int(scored or 0))
    _, bank = sessions_service.form_for_answers(db, form_id=form_id)
    for site_id, counts in db.execute(
        sa_select(col(FormTally.site_id), col(FormTally.counts))
        .where(col(FormTally.form_id) == form_id)
    ).all():
        right, scored = tally_right(bank, counts or {})
        old = out.get(int(site_id), (0, 0))
        out[int(site_id)] = (old[0] + right, old[1] + scored)
    return out


def _paired(db: Session, pre_id: int, post_id: int) -> dict[int, tuple[float, int]]:
    """(sum of post − pre score, pairs) per site of the post-test answer: attendees who
    answered both with their code, both answers scored."""
    pre, post = aliased(FormAnswer), aliased(FormAnswer)
    out: dict[int, tuple[float, int]] = {}
    for site_id, pre_score, post_score in db.execute(
        sa_select(col(post.site_id), col(pre.score), col(post.score))
        .join(pre, (col(pre.attendee_id) == col(post.attendee_id))
              & (col(pre.form_id) == pre_id))
        .where(col(post.form_id) == post_id, col(post.attendee_id).is_not(None),
               col(pre.score).is_not(None), col(post.score).is_not(None))
    ).all():
        total, n = out.get(int(site_id), (0.0, 0))
        out[int(site_id)] = (total + float(post_score) - float(pre_score), n + 1)
    return out


def _ratings(db: Session, surveys: list[FormRef]) -> dict[int, tuple[int, int]]:
    """(sum of ratings, ratings) per site over the surveys: phones plus tallies r1–r5."""
    out: dict[int, tuple[int, int]] = {}
    ids = [s.id for s in surveys]
    if not ids:
        return out
    for site_id, total, n in db.execute(
        sa_select(col(FormChoice.site_id), func.sum(col(FormChoice.rating)), func.count())
        .where(col(FormChoice.form_id).in_(ids), col(FormChoice.rating).is_not(None))
        .group_by(col(FormChoice.site_id))
    ).all():
        out[int(site_id)] = (int(total or 0), int(n))
    for form_id in ids:
        _, bank = sessions_service.form_for_answers(db, form_id=form_id)
        rated = [str(q.id) for q in bank.questions if q.kind == QuestionKind.rating]
        for site_id, counts in db.execute(
            sa_select(col(FormTally.site_id), col(FormTally.counts))
            .where(col(FormTally.form_id) == form_id)
        ).all():
            total, n = out.get(int(site_id), (0, 0))
            for qid in rated:
                typed = (counts or {}).get(qid, {})
                for value in range(1, 6):
                    k = max(0, int(typed.get(f"r{value}", 0)))
                    total, n = total + value * k, n + k
            out[int(site_id)] = (total, n)
    return out


def wrong_questions(db: Session, *, form_id: int, sites: Collection[int] | None
                    ) -> list[WrongQuestion]:
    """The test's questions most often answered wrong (share of respondents), top 5."""
    found: list[WrongQuestion] = []
    for q in form_results(db, form_id=form_id, sites=sites).questions:
        if q.right is None or not q.respondents:
            continue
        wrong_options = [o for o in q.options if not o.correct and o.count > 0]
        top = max(wrong_options, key=lambda o: o.count, default=None)
        wrong = q.respondents - q.right
        found.append(WrongQuestion(
            position=q.position, text=q.text, respondents=q.respondents, wrong=wrong,
            wrong_share=round(100.0 * wrong / q.respondents, 1),
            top_wrong=None if top is None else f"{top.letter}. {top.label}",
            top_wrong_count=0 if top is None else top.count))
    found.sort(key=lambda w: (-w.wrong_share, w.position))
    return [w for w in found if w.wrong > 0][:TOP_WRONG]


def _choose_pair(pairs: list[tuple[FormRef, FormRef]], pre_id: int | None
                 ) -> tuple[FormRef, FormRef] | None:
    if pre_id is None:
        return pairs[0] if pairs else None
    for pair in pairs:
        if pair[0].id == pre_id:
            return pair
    raise EffectPairNotFound()


def _site_figures(db: Session, pair: tuple[FormRef, FormRef] | None,
                  surveys: list[FormRef]) -> dict[int, Figures]:
    """Every counted sum, per site (sites with nothing are absent)."""
    out: dict[int, Figures] = {}

    def at(site_id: int) -> Figures:
        return out.setdefault(site_id, Figures())

    for form in ([*pair] if pair else []) + surveys:
        for site_id, n in counts_by_site(db, form_id=form.id).items():
            at(site_id).answers[form.id] = n
    if pair is not None:
        for site_id, (right, scored) in _scores(db, pair[0].id).items():
            at(site_id).pre_right, at(site_id).pre_scored = right, scored
        for site_id, (right, scored) in _scores(db, pair[1].id).items():
            at(site_id).post_right, at(site_id).post_scored = right, scored
        for site_id, (total, n) in _paired(db, pair[0].id, pair[1].id).items():
            at(site_id).paired_sum, at(site_id).pairs = total, n
    for site_id, (total, n) in _ratings(db, surveys).items():
        at(site_id).rating_sum, at(site_id).rating_count = total, n
    return out


def effectiveness_report(
    db: Session, *, conference_id: int, actor: User, pre_id: int | None = None,
    under_id: int | None = None,
) -> EffectReport:
    """The report of a conference within the actor's scope (`under_id`: a subtree).

    `pre_id` picks the pair by its pre-test (404 effect_pair_not_found if it is none)."""
    attendance = reports.attendance_report(db, conference_id=conference_id, actor=actor,
                                           under_id=under_id, with_sessions=False)
    pairs = test_pairs(db, conference_id=conference_id)
    pair = _choose_pair(pairs, pre_id)
    surveys = _surveys(db, conference_id)
    figures = _site_figures(db, pair, surveys)
    sites: list[EffectRow] = []
    for order, r in enumerate(attendance.rows):
        own = figures.get(r.site_id, Figures())
        own.sites, own.present = 1, r.own.present
        sites.append(EffectRow(r.site_id, r.parent_id, r.name, r.code, r.kind_label, r.depth,
                               r.group, own, order))
    heads = [(g.site_id, g.name) for g in attendance.groups]
    # The whole conference needs no site filter (and 31,000 ids make no IN list).
    whole = under_id is None and accounts_service.is_admin(actor)
    in_scope = None if whole else [r.site_id for r in sites if r.site_id is not None]
    wrong_pre = wrong_post = []
    if pair is not None:
        wrong_pre = wrong_questions(db, form_id=pair[0].id, sites=in_scope)
        wrong_post = wrong_questions(db, form_id=pair[1].id, sites=in_scope)
    db.rollback()
    return EffectReport(
        conference_id=conference_id, conference_title=attendance.conference_title,
        starts_on=attendance.starts_on, ends_on=attendance.ends_on, under_id=under_id,
        under_name=attendance.under_name, generated_at=utcnow(),
        pre=pair[0] if pair else None, post=pair[1] if pair else None, surveys=surveys,
        pairs=pairs, totals=totals(sites), sites=sites, hubs=hub_rows(sites),
        provinces=province_rows(sites, heads), wrong_pre=wrong_pre, wrong_post=wrong_post,
    )


def note_view(db: Session, report: EffectReport, *, where: str) -> None:
    """Count a view of the report (per actor and flush, like the other reports' views)."""
    spool.viewed(db, what="effectiveness_report", conference_id=report.conference_id,
                 site_id=report.under_id, where=where)


def record_export(db: Session, report: EffectReport, *, fmt: str, level: str) -> None:
    """Record a download of the report, committed before the file is sent."""
    audit_service.record(
        db, action="export", object_type="effectiveness_report",
        object_id=report.pre.id if report.pre else None, conference_id=report.conference_id,
        site_id=report.under_id,
        detail={"format": fmt, "level": level, "rows": len(report.level(level))},
    )
    db.commit()


def _form_body(form: FormRef | None) -> dict[str, object] | None:
    return None if form is None else {"id": form.id, "kind": form.kind, "title": form.title}


def report_body(report: EffectReport, rows: list[EffectRow], *, level: str, offset: int,
                limit: int) -> dict[str, object]:
    """The JSON answer: the pair, the totals, a page of the level's (selected) rows and the
    questions most often answered wrong."""
    ids = [f.id for f in report.forms]
    return {
        "conference_id": report.conference_id, "conference_title": report.conference_title,
        "under_id": report.under_id, "under_name": report.under_name,
        "generated_at": report.generated_at.isoformat(),
        "pre": _form_body(report.pre), "post": _form_body(report.post),
        "surveys": [_form_body(s) for s in report.surveys],
        "pairs": [{"pre": _form_body(a), "post": _form_body(b)} for a, b in report.pairs],
        "totals": figures_body(report.totals, ids),
        "level": level, "total": len(rows), "offset": offset, "limit": limit,
        "rows": [row_body(r, ids) for r in rows[offset:offset + limit]],
        "wrong_pre": [asdict(w) for w in report.wrong_pre],
        "wrong_post": [asdict(w) for w in report.wrong_post],
    }
