"""The check-in commands: `diemcau import-attendees` and `diemcau rotate-pass-key`."""

from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.db import create_db_engine
from checkin.models import Attendee, PassKey
from tests.conftest import Tree


def _rows(url: str, model: type[Any]) -> list[Any]:
    engine = create_db_engine(url, pool_size=1)
    with Session(engine) as db:
        rows: list[Any] = list(db.exec(select(model)).all())
    engine.dispose()
    return rows


def test_import_attendees_command_imports_file(cli_db: Tree, tmp_path: Path,
                                               sqlite_url: str) -> None:
    path = tmp_path / "ds.csv"
    path.write_text("họ và tên,mã điểm cầu,đơn vị\nNguyễn Văn An,HCM-BN,Sở Y tế\n"
                    "Trần Thị Bình,HN-HK,\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import-attendees", str(path), "--conference",
                                      str(cli_db.cid)])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 2 đại biểu" in result.output
    assert sorted(a.full_name for a in _rows(sqlite_url, Attendee)) == [
        "Nguyễn Văn An", "Trần Thị Bình"]


def test_import_attendees_command_records_the_basis(cli_db: Tree, tmp_path: Path,
                                                    sqlite_url: str) -> None:
    path = tmp_path / "ds.csv"
    path.write_text("họ và tên,mã điểm cầu\nNguyễn Văn An,HCM-BN\n", encoding="utf-8")
    args = ["import-attendees", str(path), "--conference", str(cli_db.cid)]
    refused = CliRunner().invoke(cli, [*args, "--basis", "ban-be"])
    assert refused.exit_code == 1 and "basis_invalid" in refused.output
    assert _rows(sqlite_url, Attendee) == []
    result = CliRunner().invoke(cli, [*args, "--basis", "consent"])
    assert result.exit_code == 0, result.output
    (row,) = _rows(sqlite_url, Attendee)
    assert row.basis == "consent" and row.supplied_by_id is not None
    assert row.supplied_at is not None


def test_import_attendees_command_bad_file_exits_1(cli_db: Tree, tmp_path: Path,
                                                   sqlite_url: str) -> None:
    path = tmp_path / "ds.csv"
    path.write_text("họ và tên,mã điểm cầu\nNguyễn Văn An,NOPE\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import-attendees", str(path), "--conference",
                                      str(cli_db.cid)])
    assert result.exit_code == 1
    assert _rows(sqlite_url, Attendee) == []


def test_rotate_pass_key_command_adds_new_signing_key(cli_db: Tree, sqlite_url: str) -> None:
    first = CliRunner().invoke(cli, ["rotate-pass-key"])
    second = CliRunner().invoke(cli, ["rotate-pass-key"])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    keys = sorted(_rows(sqlite_url, PassKey), key=lambda k: k.kid)
    # The first made k1; the second retired it and made k2 (retired keys still verify).
    assert [(k.kid, k.retired_at is None) for k in keys] == [("k1", False), ("k2", True)]


def test_revoke_pass_key_command(cli_db: Tree, sqlite_url: str) -> None:
    assert CliRunner().invoke(cli, ["rotate-pass-key"]).exit_code == 0
    active = CliRunner().invoke(cli, ["revoke-pass-key", "k1"])
    assert active.exit_code == 1 and "pass_key_active" in active.output
    assert CliRunner().invoke(cli, ["rotate-pass-key"]).exit_code == 0
    done = CliRunner().invoke(cli, ["revoke-pass-key", "k1"])
    assert done.exit_code == 0 and "k1" in done.output
    revoked = {k.kid: k.revoked_at is not None for k in _rows(sqlite_url, PassKey)}
    assert revoked == {"k1": True, "k2": False}
    assert CliRunner().invoke(cli, ["revoke-pass-key", "k7"]).exit_code == 1
