"""A bank edited by several central-office tabs at once while forms are made on it
(threads, each with its own database session, on SQLite and PostgreSQL): nothing
crashes, the bank ends as exactly one of the versions sent, in order, and every form
made asks a bank that fits it."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.config import Settings
from app.db import create_db_engine
from app.errors import AppError
from sessions import form_bank, forms
from sessions.form_models import BankQuestion, FormCreate, FormKind, TrainingForm
from tests.conftest import Tree
from tests.sessions.form_support import bank_data, make_session, quiz_bank, survey_bank


def _run(settings: Settings, calls: list[Callable[[Session], Any]]) -> list[Any]:
    engine = create_db_engine(settings.database_url, pool_size=len(calls))
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[Session], Any]) -> Any:
        barrier.wait(timeout=30)
        with Session(engine, expire_on_commit=False) as db:
            try:
                call(db)
                return "ok"
            except AppError as exc:
                return exc.code
            except Exception as exc:  # anything else would be a 500
                return f"crash:{type(exc).__name__}:{exc}"

    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(one, calls))
    finally:
        engine.dispose()


def _version(n: int) -> dict[str, Any]:
    """Version n of the bank: a test bank (even n) or a survey's (odd n), n questions."""
    raw = quiz_bank(f"Phiên bản {n}") if n % 2 == 0 else survey_bank(f"Phiên bản {n}")
    raw["questions"] = (raw["questions"] * n)[:n]
    return raw


def test_edits_and_new_forms_race_to_a_consistent_bank(
    db: Session, settings: Settings, tree: Tree, admin: User
) -> None:
    sid = make_session(db, tree, admin)
    bank = forms.create_bank(db, conference_id=tree.cid, data=bank_data(_version(2)),
                             actor=admin)
    bid = bank.id or 0
    edits = [lambda s, n=n: forms.replace_bank(s, bank_id=bid, actor=admin,
                                               data=bank_data(_version(n)))
             for n in range(2, 8)]
    makes = [lambda s, kind=kind: forms.create_form(s, session_id=sid, actor=admin, data=FormCreate(
        kind=kind, title="Phiếu", bank_id=bid)) for kind in (FormKind.pretest, FormKind.survey) * 3]
    answers = _run(settings, [*edits, *makes])
    assert not [a for a in answers if a.startswith("crash")], answers
    assert set(answers) <= {"ok", "bank_not_a_test", "bank_not_a_survey"}
    db.rollback()
    db.expire_all()  # the bank this session made is in its identity map, unexpired
    final = forms.get_bank(db, bank_id=bid, actor=admin)
    n = int(final.title.rsplit(" ", 1)[1])
    assert len(final.questions) == n and [q.position for q in final.questions] == list(
        range(1, n + 1))
    assert len(db.exec(select(BankQuestion).where(col(BankQuestion.bank_id) == bid)).all()) == n
    view = form_bank.load_bank(db, bank_id=bid)
    for form in db.exec(select(TrainingForm)).all():
        forms.check_fits(view, kind=form.kind)  # every form still fits the bank it asks
