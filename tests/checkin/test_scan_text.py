"""What a refused scan keeps of the scanned text: only the start of one of our own passes
(issue 11, minimal data); a citizen ID card's QR or any other text leaves no trace."""

import pytest
from sqlmodel import Session, SQLModel, select

from app.accounts.models import User
from app.config import Settings
from app.errors import AppError
from checkin import errors, service
from checkin.models import ScanFailure
from tests.checkin.support import Roster, code_for
from tests.conftest import Tree


def test_a_citizen_id_card_scanned_by_mistake_leaves_no_trace(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    """The QR of a citizen ID card (CCCD: number|old number|name|birth date|sex|address|
    issue date) is refused and nothing of it is stored anywhere (Law 91/2025)."""
    card = "079090001234|025123456|Nguyễn Văn An|01011990|Nam|12 Lê Lợi, Sài Gòn|15062021"
    with pytest.raises(errors.PassMalformed):
        service.check_in(wdb, code=card, site_id=tree.ward_a1, actor=admin, settings=settings)
    wdb.rollback()
    assert [f.reason for f in wdb.exec(select(ScanFailure)).all()] == ["pass_malformed"]
    for table in SQLModel.metadata.sorted_tables:  # every column of every row
        for row in wdb.execute(table.select()).all():
            text_of_row = " ".join(str(v) for v in row)
            assert "079090001234" not in text_of_row and "01011990" not in text_of_row, table


def test_a_refused_pass_of_ours_keeps_its_prefix(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    """A genuine pass refused for a reason (revoked) keeps its first 40 characters, which
    help the desk find the pass; they name no person."""
    code = code_for(wdb, roster.an, settings)
    roster.an.revoked = True
    wdb.add(roster.an)
    wdb.commit()
    with pytest.raises(AppError):
        service.check_in(wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings)
    wdb.rollback()
    prefixes = [f.code_prefix for f in wdb.exec(select(ScanFailure)).all()]
    assert prefixes == [code[:40]]
