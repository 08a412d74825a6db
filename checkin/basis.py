"""Why the service holds a person (cơ sở xử lý dữ liệu cá nhân): the short list every way of
adding attendees chooses from, and who supplied an attendee and when.

The list is closed: an unknown value is refused (`basis_invalid`). Clients of the API
that name none get DEFAULT_BASIS, a roster sent by the attendee's unit, which is how
almost every roster reaches the organisers.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlmodel import Session

from app.accounts.models import User
from checkin import errors
from checkin.models import Attendee

Basis = Literal["unit", "consent", "duty"]
BASES: dict[str, str] = {
    "unit": "Do cơ quan, đơn vị cử đại biểu gửi danh sách",
    "consent": "Đại biểu tự cung cấp và đồng ý",
    "duty": "Thực hiện nhiệm vụ theo quy định của pháp luật",
}
DEFAULT_BASIS: Basis = "unit"
assert set(BASES) == set(get_args(Basis))


def parse_basis(value: str | None, *, required: bool = False) -> Basis:
    """The basis a form or a query names; blank: the default (`basis_required` when the
    choice is `required`, as on the import page); unknown: `basis_invalid`."""
    raw = (value or "").strip()
    if not raw:
        if required:
            raise errors.BasisRequired()
        return DEFAULT_BASIS
    for known in get_args(Basis):
        if raw == known:
            return known  # type: ignore[no-any-return]
    raise errors.BasisInvalid()


def basis_label(value: str | None) -> str:
    """The Vietnamese label of a stored basis ("chưa ghi nhận" for rows added before)."""
    return BASES.get(value or "", "Chưa ghi nhận")


@dataclass(frozen=True)
class Provenance:
    """Where an attendee's data came from, as staff pages show it."""

    basis: str | None
    label: str
    supplied_by: str | None
    supplied_at: datetime | None


def provenance(db: Session, *, attendee: Attendee) -> Provenance:
    """The basis, who supplied the attendee (their name, else username) and when."""
    by = db.get(User, attendee.supplied_by_id) if attendee.supplied_by_id else None
    return Provenance(
        basis=attendee.basis,
        label=basis_label(attendee.basis),
        supplied_by=(by.full_name or by.username) if by is not None else None,
        supplied_at=attendee.supplied_at,
    )
