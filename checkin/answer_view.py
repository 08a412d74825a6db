"""What a phone is shown of a form: its questions and options, never which is correct.

Public while the form is open or closed (a draft is `form_not_open`): the questions
reach every phone in the room anyway, the correct options only with the results.
"""

from pydantic import BaseModel
from sqlmodel import Session

from sessions import errors as sessions_errors
from sessions import service as sessions_service


class AskedOption(BaseModel):
    id: int
    position: int
    letter: str
    label: str


class AskedQuestion(BaseModel):
    id: int
    position: int
    kind: str
    text: str
    options: list[AskedOption]


class AskedForm(BaseModel):
    """A form as answered on a phone (no `correct` anywhere)."""

    id: int
    conference_id: int
    kind: str
    kind_label: str
    title: str
    status: str
    scored: bool  # a test: the phone shows the score after answering
    questions: list[AskedQuestion]


def asked_form(db: Session, *, form_id: int) -> AskedForm:
    """The form's questions for a phone; form_not_found, form_not_open (a draft)."""
    form, bank = sessions_service.form_for_answers(db, form_id=form_id)
    if form.status == sessions_service.FormStatus.draft:
        raise sessions_errors.FormNotOpen()
    assert form.id is not None
    return AskedForm(
        id=form.id, conference_id=form.conference_id, kind=str(form.kind),
        kind_label=sessions_service.FORM_KIND_LABELS[form.kind], title=form.title,
        status=str(form.status), scored=form.kind in sessions_service.TEST_KINDS,
        questions=[AskedQuestion(
            id=q.id, position=q.position, kind=str(q.kind), text=q.text,
            options=[AskedOption(id=o.id, position=o.position,
                                 letter=sessions_service.option_letter(o.position),
                                 label=o.label) for o in q.options],
        ) for q in bank.questions],
    )
