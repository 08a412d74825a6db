"""Training forms for tests: a bank of three questions and a form asking them (written
directly: the authoring pages are another part of issue 13)."""

from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from sessions.form_models import (
    BankOption,
    BankQuestion,
    FormKind,
    QuestionBank,
    QuestionKind,
    TrainingForm,
)


@dataclass(frozen=True)
class MadeForm:
    form_id: int
    bank_id: int
    single_id: int  # "Thủ đô của Việt Nam?": A. Hà Nội (correct), B. Huế <b>
    right_id: int
    wrong_id: int
    rating_id: int
    text_id: int


def make_form(engine: Engine | Connection, *, conference_id: int, session_id: int,
              kind: FormKind = FormKind.pretest, title: str = "Kiểm tra đầu vào") -> MadeForm:
    """A draft form of `session_id` with a single choice, a rating and a text question."""
    with Session(engine) as db:
        bank = QuestionBank(conference_id=conference_id, title="Bộ câu hỏi")
        db.add(bank)
        db.flush()
        assert bank.id is not None
        questions = [BankQuestion(bank_id=bank.id, position=1, kind=QuestionKind.single,
                                  text="Thủ đô của Việt Nam?"),
                     BankQuestion(bank_id=bank.id, position=2, kind=QuestionKind.rating,
                                  text="Bạn đánh giá buổi học thế nào?"),
                     BankQuestion(bank_id=bank.id, position=3, kind=QuestionKind.text,
                                  text="Góp ý của bạn")]
        db.add_all(questions)
        db.flush()
        single = questions[0].id
        assert single is not None
        right = BankOption(question_id=single, position=1, label="Hà Nội", correct=True)
        wrong = BankOption(question_id=single, position=2, label="Huế <b>")
        db.add_all([right, wrong])
        form = TrainingForm(conference_id=conference_id, session_id=session_id,
                            bank_id=bank.id, kind=kind, title=title)
        db.add(form)
        db.commit()
        assert form.id and right.id and wrong.id
        return MadeForm(form.id, bank.id, single, right.id, wrong.id,
                        questions[1].id or 0, questions[2].id or 0)


def answer(engine: Engine | Connection, made: MadeForm, *, conference_id: int, site_id: int,
           option_id: int, rating: int = 5, text: str | None = "Hay") -> None:
    """One phone answer's rows, as the answer path writes them (it is another part)."""
    import secrets

    from checkin.answer_models import FormAnswer, FormChoice

    with Session(engine) as db:
        row = FormAnswer(conference_id=conference_id, form_id=made.form_id, site_id=site_id,
                         nonce=secrets.token_hex(8), scored=1,
                         correct=int(option_id == made.right_id))
        db.add(row)
        db.flush()
        assert row.id is not None
        picked: list[tuple[int, int | None, int | None, str | None]] = [
            (made.single_id, option_id, None, None), (made.rating_id, None, rating, None)]
        if text is not None:
            picked.append((made.text_id, None, None, text))
        for question_id, option, value, written in picked:
            db.add(FormChoice(answer_id=row.id, form_id=made.form_id, site_id=site_id,
                              question_id=question_id, option_id=option, rating=value,
                              text=written))
        db.commit()
