"""`diemcau audit verify`: check the chain from the command line (read only, any backend).

It prints a Vietnamese verdict for people and one `key=value` line for scripts, and
exits 0 when the chain holds, 1 when it does not (the first broken entry's id and why),
2 when the log cannot be read at all. It writes nothing, not even an entry of its own:
the head it prints is the anchor an auditor writes down, and stays the head until the
service writes again.
"""

import re
from typing import Annotated

import typer
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from app.audit.verify import ANCHOR_MISSING, CHANGED, UNLINKED, Verdict, verify
from app.config import get_settings
from app.db import create_db_engine
from app.text import format_number

audit = typer.Typer(help="Nhật ký kiểm toán (audit log).", no_args_is_help=True)

_HASH = re.compile(r"^[0-9a-f]{64}$")
_WHY = {
    CHANGED: "nội dung của mục #{id} đã bị sửa (mã băm không còn khớp)",
    UNLINKED: "mục #{id} không nối tiếp mục đứng trước nó (một mục trước đó đã bị xoá "
              "hoặc chèn thêm)",
    ANCHOR_MISSING: "không còn mục nào mang mã băm mốc đã ghi lại (các mục cuối đã bị "
                    "xoá, hoặc nhật ký bị viết lại)",
}


def _anchor(value: str | None) -> str | None:
    if value is not None and not _HASH.match(value.strip().lower()):
        raise typer.BadParameter("cần 64 ký tự hệ 16 (mã băm in ra ở lần kiểm tra trước)")
    return None if value is None else value.strip().lower()


def _machine_line(verdict: Verdict) -> str:
    parts = [f"status={'ok' if verdict.ok else 'broken'}", f"entries={verdict.entries}",
             f"head={verdict.head}"]
    if not verdict.ok:
        parts.append(f"reason={verdict.reason}")
        if verdict.broken_at is not None:
            parts.append(f"broken_at={verdict.broken_at}")
    if verdict.anchor_at is not None:
        parts.append(f"anchor_at={verdict.anchor_at}")
    return "audit_verify " + " ".join(parts)


@audit.command("verify")
def verify_command(
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", callback=_anchor, metavar="HASH",
                     help="Mã băm cuối đã ghi lại lần trước: nó phải vẫn còn trong chuỗi"),
    ] = None,
) -> None:
    """Recompute the hash chain of the audit log; exit 1 at the first entry that fails."""
    engine = create_db_engine(get_settings().database_url, pool_size=1)
    try:
        if not inspect(engine).has_table("audit_log"):
            typer.echo("Cơ sở dữ liệu chưa có nhật ký kiểm toán (chạy diemcau migrate).",
                       err=True)
            raise typer.Exit(2)
        verdict = verify(engine, anchor=expect_head)
    except SQLAlchemyError as exc:
        typer.echo(f"Không đọc được nhật ký kiểm toán: {type(exc).__name__}.", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    count = format_number(verdict.entries)
    if verdict.ok:
        typer.echo(f"Nhật ký kiểm toán nguyên vẹn: đã kiểm tra {count} mục.")
        if verdict.anchor_at is not None:
            typer.echo(f"Mã băm mốc vẫn còn trong chuỗi (mục #{verdict.anchor_at}).")
        typer.echo(f"Mã băm cuối (ghi lại để đối chiếu lần sau): {verdict.head}")
        typer.echo(_machine_line(verdict))
        return
    why = _WHY[verdict.reason or CHANGED].format(id=verdict.broken_at)
    typer.echo(f"Nhật ký kiểm toán KHÔNG nguyên vẹn: {why}.", err=True)
    held = (f"Cả {count} mục đều khớp nhau; mã băm cuối hiện nay" if verdict.broken_at is None
            else f"Chỉ {count} mục đầu tiên khớp nhau; mã băm của mục khớp cuối cùng")
    typer.echo(f"{held}: {verdict.head}", err=True)
    typer.echo(_machine_line(verdict))
    raise typer.Exit(1)
