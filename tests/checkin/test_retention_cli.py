"""`diemcau purge`: the dry run previews and changes nothing, the purge purges what is
due, refusals exit 1 with their code and change nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts.models import User
from app.cli import cli
from app.db import create_db_engine, local_today
from checkin.anonymise import ANONYMOUS
from checkin.models import Attendee
from endpoints.models import Conference
from tests.checkin.support import make_roster
from tests.conftest import Tree

NAMES = ["Lê Văn Cường", "Nguyễn Văn An", "Trần Thị Bình"]


@pytest.fixture
def cli_db(cli_db: Tree, sqlite_url: str) -> Tree:
    """The CLI's tree (its conference ended 9/9/2025, due since 9/12/2025) with three
    attendees, one with a phone."""
    engine = create_db_engine(sqlite_url, pool_size=1)
    with Session(engine, expire_on_commit=False) as db:
        admin = db.exec(select(User).where(User.username == "admin")).one()
        people = make_roster(db, admin, cli_db)
        db.execute(update(Attendee).where(col(Attendee.id) == people.an.id)
                   .values(phone="0912345678"))
        db.commit()
    engine.dispose()
    return cli_db


def _names(url: str) -> list[str]:
    engine = create_db_engine(url, pool_size=1)
    with Session(engine) as db:
        names = sorted(db.exec(select(Attendee.full_name)).all())
    engine.dispose()
    return names


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["purge", *args])
    return result.exit_code, result.output


def test_dry_run_previews_with_counts_and_changes_nothing(cli_db: Tree, sqlite_url: str
                                                          ) -> None:
    code, out = _run("--dry-run")
    assert code == 0, out
    assert "Xem trước (--dry-run): chưa thay đổi gì." in out
    assert f"Hội nghị #{cli_db.cid} «Hội nghị tập huấn AI»" in out
    assert "kết thúc 09/09/2025, lưu 90 ngày, đến hết 08/12/2025" in out
    assert "sẽ thay 3 danh tính đại biểu bằng mã ẩn danh, xoá 1 số điện thoại" in out
    assert _names(sqlite_url) == NAMES
    code, out = _run("--dry-run", "--today", "2025-12-08")
    assert code == 0 and "Không có hội nghị nào hết thời hạn lưu trữ vào ngày 08/12/2025" in out


def test_purge_purges_what_is_due_once(cli_db: Tree, sqlite_url: str) -> None:
    code, out = _run()
    assert code == 0, out
    assert f"Đã xoá dữ liệu định danh của hội nghị #{cli_db.cid}: 3 đại biểu" in out
    assert "1 số điện thoại" in out
    names = _names(sqlite_url)
    assert all(n.startswith(ANONYMOUS) for n in names)
    code, out = _run()
    assert code == 0 and "Không có hội nghị nào" in out
    assert _names(sqlite_url) == names
    code, out = _run("--conference", str(cli_db.cid))
    assert code == 1 and "conference_already_purged" in out


def test_refusals_exit_1_with_their_code_and_change_nothing(cli_db: Tree, sqlite_url: str
                                                            ) -> None:
    cid = str(cli_db.cid)
    code, out = _run("--conference", cid, "--today", "2025-09-09")
    assert code == 1 and "conference_not_ended" in out
    code, out = _run("--conference", cid, "--today", "2025-12-08", "--dry-run")
    assert code == 1 and "retention_not_over" in out
    code, out = _run("--conference", "999")
    assert code == 1 and "conference_not_found" in out
    code, out = _run("--today", "8/12/2025")
    assert code == 2 and "YYYY-MM-DD" in out
    assert _names(sqlite_url) == NAMES


def test_early_purge_of_an_ended_conference(cli_db: Tree, sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url, pool_size=1)
    yesterday = local_today() - timedelta(days=1)
    with Session(engine) as db:
        db.execute(update(Conference).values(starts_on=yesterday, ends_on=yesterday))
        db.commit()
    engine.dispose()
    code, out = _run("--conference", str(cli_db.cid))
    assert code == 1 and "retention_not_over" in out and _names(sqlite_url) == NAMES
    code, out = _run("--conference", str(cli_db.cid), "--early")
    assert code == 0 and "(xoá sớm theo yêu cầu): 3 đại biểu" in out
    assert all(n.startswith(ANONYMOUS) for n in _names(sqlite_url))
