"""`diemcau purge [--dry-run] [--conference ID] [--today YYYY-MM-DD] [--early]`.

Registered by app/cli.py. Without `--conference` it purges (or, with `--dry-run`,
previews) every conference due today, as the daily job does; with it, that conference
only, refused with a code (exit 1) when it has not ended, its retention is not over
(unless `--early`) or it was purged already.
"""

from datetime import date, datetime
from typing import Annotated

import typer
from sqlmodel import Session

from app.audit.context import Actor, set_actor
from app.config import get_settings
from app.db import create_db_engine, local_today
from app.errors import AppError
from app.templating import local_date
from app.text import format_number as number
from checkin import retention
from checkin.retention_models import PurgeReport, RetentionPlan


def _day(value: str | None) -> date:
    if value is None:
        return local_today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter("Ngày phải có dạng YYYY-MM-DD", param_hint="--today") from exc


def describe_plan(plan: RetentionPlan) -> str:
    """One conference's preview, in Vietnamese, counts only."""
    return (
        f"Hội nghị #{plan.conference_id} «{plan.title}» (kết thúc {local_date(plan.ends_on)}, "
        f"lưu {number(plan.retention_days)} ngày, đến hết {local_date(plan.kept_until)}): "
        f"sẽ thay {number(plan.attendees)} danh tính đại biểu bằng mã ẩn danh, "
        f"xoá {number(plan.phones)} số điện thoại, xoá chi tiết {number(plan.failed_scans)} "
        f"lượt quét bị từ chối, {number(plan.devices)} tên thiết bị điểm danh và nội dung "
        f"{number(plan.requests)} yêu cầu của đại biểu. Số liệu tổng hợp giữ nguyên."
    )


def describe_report(report: PurgeReport) -> str:
    """What one purge changed, in Vietnamese, counts only."""
    early = " (xoá sớm theo yêu cầu)" if report.early else ""
    return (
        f"Đã xoá dữ liệu định danh của hội nghị #{report.conference_id}{early}: "
        f"{number(report.attendees)} đại biểu thay bằng mã ẩn danh, "
        f"{number(report.phones)} số điện thoại, chi tiết {number(report.failed_scans)} "
        f"lượt quét bị từ chối, {number(report.devices)} tên thiết bị, "
        f"{number(report.requests)} yêu cầu. Số liệu tổng hợp giữ nguyên."
    )


def _one(db: Session, conference_id: int, today: date, *, dry_run: bool, early: bool) -> str:
    if dry_run:
        plan = retention.purge_plan(db, conference_id=conference_id, today=today)
        retention.check_conference(db, conference_id=conference_id, today=today, early=early)
        return describe_plan(plan)
    return describe_report(retention.purge(db, conference_id=conference_id, today=today,
                                           early=early))


def _due(db: Session, today: date, *, dry_run: bool) -> list[str]:
    ids = [int(c.id) for c in retention.due_conferences(db, today=today) if c.id is not None]
    db.rollback()
    if not ids:
        return [f"Không có hội nghị nào hết thời hạn lưu trữ vào ngày {local_date(today)}."]
    return [_one(db, i, today, dry_run=dry_run, early=False) for i in ids]


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Chỉ xem trước, không thay đổi gì")
                       ] = False,
    conference: Annotated[int | None, typer.Option(
        "--conference", help="Chỉ hội nghị này (mặc định: mọi hội nghị đến hạn)")] = None,
    today: Annotated[str | None, typer.Option(
        "--today", help="Tính hạn theo ngày này, YYYY-MM-DD (mặc định: hôm nay)")] = None,
    early: Annotated[bool, typer.Option(
        "--early", help="Xoá sớm hội nghị đã kết thúc dù chưa hết thời hạn lưu trữ")] = False,
) -> None:
    """Replace identities of ended conferences past their retention with anonymous ids."""
    from app.migrate import upgrade

    day = _day(today)
    settings = get_settings()
    upgrade(settings.database_url)
    set_actor(Actor(role="system", username="cli"))
    engine = create_db_engine(settings.database_url, pool_size=2)
    try:
        with Session(engine, expire_on_commit=False) as db:
            lines = (_due(db, day, dry_run=dry_run) if conference is None
                     else [_one(db, conference, day, dry_run=dry_run, early=early)])
    except AppError as exc:
        typer.echo(f"{exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if dry_run:
        typer.echo("Xem trước (--dry-run): chưa thay đổi gì.")
    for line in lines:
        typer.echo(line)
