"""The `diemcau` command: serve, demo, create-admin, import-sites, import-attendees,
load-units, rotate-pass-key, revoke-pass-key, backup, restore, purge, migrate, audit verify."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.audit.commands import audit
from app.broker_check import refuse_unreachable_broker
from app.config import get_settings
from checkin import retention_cli, roster_import

if TYPE_CHECKING:
    from rich.console import Console

    from app.accounts.models import User
    from app.tabular.errors import ImportRejected
    from app.tabular.report import ImportReport

cli = typer.Typer(
    help="diemcau — quản lý hội nghị trực tiếp kết hợp trực tuyến tại nhiều điểm cầu.",
    no_args_is_help=True,
    add_completion=False,
)
# The retention purge (checkin/retention_cli.py): --dry-run, --conference, --today, --early.
cli.command("purge")(retention_cli.purge)
cli.add_typer(audit, name="audit")


def _engine() -> Engine:
    from app.db import create_db_engine

    settings = get_settings()
    return create_db_engine(settings.database_url, pool_size=2)


@cli.command()
def migrate(
    app_role: Annotated[str | None, typer.Option(
        "--app-role", help="PostgreSQL: vai trò của ứng dụng (không sở hữu bảng) được cấp quyền")
    ] = None,
) -> None:
    """Bring the database to the newest schema (as the owner role, on PostgreSQL)."""
    from app.migrate import grant_app_role, upgrade

    upgrade(get_settings().database_url)
    typer.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
    if app_role is not None:
        try:
            grant_app_role(get_settings().database_url, role=app_role)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--app-role") from exc
        typer.echo(f"Đã cấp quyền cho vai trò {app_role} (không sửa, xoá được nhật ký kiểm toán).")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Nạp hội nghị mẫu trước khi chạy")] = False,
    workers: Annotated[int, typer.Option(help="Số tiến trình (cần Redis khi > 1)")] = 1,
    backlog: Annotated[int, typer.Option(
        help="Hàng đợi kết nối chờ nhận (giới hạn bởi net.core.somaxconn của máy)",
        min=128, max=65535)] = 8192,
) -> None:
    """Migrate the database, then run the service."""
    from app.migrate import upgrade
    from app.serve import run_server

    settings = get_settings()
    if workers > 1 and settings.broker_url.startswith("memory"):
        raise typer.BadParameter(
            "--workers > 1 cần DIEMCAU_BROKER_URL=redis://…", param_hint="--workers"
        )
    refuse_unreachable_broker(settings.broker_url)
    upgrade(settings.database_url)
    _refuse_exposed_defaults(host)
    if demo:
        _load_demo()
    typer.echo(f"diemcau đang chạy tại http://{host}:{port}")
    run_server(host=host, port=port, workers=workers, backlog=backlog,
               access_log=settings.access_log, echo=typer.echo)


def _refuse_exposed_defaults(host: str) -> None:
    """Exit before serving on a reachable address with a published secret or password."""
    from app.exposure import exposure_problems, is_loopback

    if is_loopback(host):
        return
    settings = get_settings()
    engine = _engine()
    try:
        with Session(engine) as db:
            default_admin = accounts_service.default_admin_works(
                db, username=settings.admin_username, password=settings.admin_password
            )
    finally:
        engine.dispose()
    problems = exposure_problems(settings, host=host, default_admin_works=default_admin)
    if problems:
        typer.echo(f"Từ chối chạy trên {host}: máy khác truy cập được địa chỉ này.", err=True)
        for problem in problems:
            typer.echo(f"- {problem}", err=True)
        raise typer.Exit(2)


def _load_demo() -> None:
    from app.demo import DemoRefused, load_demo, refuse_real_database
    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    engine = _engine()
    try:
        with Session(engine) as db:
            refuse_real_database(db, env=settings.env)
            summary = load_demo(
                db, admin_username=settings.admin_username, admin_password=settings.admin_password
            )
    except DemoRefused as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(summary)


@cli.command()
def demo() -> None:
    """Load the demo conference (central venue, a city hub, ward/commune sites)."""
    _load_demo()


@cli.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(prompt="Tên đăng nhập")],
    password: Annotated[
        str, typer.Option(prompt="Mật khẩu", hide_input=True, confirmation_prompt=True)
    ],
    full_name: Annotated[str, typer.Option(prompt="Họ và tên")] = "Ban tổ chức",
) -> None:
    """Create a central-office account."""
    from app.accounts.passwords import check_new_password
    from app.errors import AppError
    from app.migrate import upgrade

    try:
        check_new_password(password, username=username)
    except AppError as exc:
        raise typer.BadParameter(exc.detail, param_hint="--password") from exc
    upgrade(get_settings().database_url)
    engine = _engine()
    with Session(engine) as db:
        try:
            accounts_service.create_admin(
                db, username=username, password=password, full_name=full_name
            )
        except accounts_errors.UsernameTaken as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(1) from exc
    engine.dispose()
    typer.echo(f"Đã tạo tài khoản ban tổ chức {username}.")


@contextmanager
def _importing(
    console: "Console", file: Path, user: str | None, *, nothing_done: str
) -> Iterator[tuple[Session, "User"]]:
    """The frame every file import shares: migrate, check the size, act as a central-office
    account, and turn a refusal into a table of bad lines and exit code 1."""
    from app.errors import AppError
    from app.migrate import upgrade
    from app.tabular import errors
    from endpoints import imports

    settings = get_settings()
    upgrade(settings.database_url)
    engine = _engine()
    try:
        if file.stat().st_size > settings.max_import_bytes:
            raise errors.file_too_large(settings.max_import_bytes)
        with Session(engine, expire_on_commit=False) as db:
            yield db, imports.admin_account(db, username=user)
    except errors.ImportRejected as exc:
        _print_line_errors(console, exc, title=f"Các dòng cần sửa ({nothing_done})")
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from exc
    except AppError as exc:
        typer.echo(f"{exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _print_done(console: "Console", summary: str, warnings: Sequence[str]) -> None:
    """The one-line result of an import and its warnings."""
    console.print(summary)
    for warning in warnings:
        console.print(f"[yellow]Lưu ý:[/yellow] {warning}")


ImportFile = Annotated[
    Path, typer.Argument(help="Tệp CSV hoặc XLSX", exists=True, dir_okay=False, readable=True)
]
ConferenceOption = Annotated[int, typer.Option("--conference", help="ID của hội nghị")]
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Tài khoản ban tổ chức thực hiện (mặc định: tài khoản đầu)"),
]


@cli.command("import-sites")
def import_sites(file: ImportFile, conference: ConferenceOption, user: UserOption = None) -> None:
    """Import a site tree from a CSV/XLSX file into a conference: all rows or none."""
    from rich.console import Console

    from app.text import format_number as number

    console = Console(highlight=False)
    with _importing(console, file, user, nothing_done="chưa nhập điểm cầu nào") as (db, actor):
        report = _import_with_progress(console, db, file, conference, actor)
    kinds = "; ".join(f"{k}: {number(n)}" for k, n in report.counts.items())
    _print_done(
        console,
        f"Đã nhập [bold]{number(report.created)}[/bold] điểm cầu vào hội nghị #{conference} "
        f"trong {report.seconds['total']:.2f} giây ({kinds}).",
        report.warnings,
    )


def _import_with_progress(
    console: "Console", db: Session, file: Path, conference: int, actor: "User"
) -> "ImportReport":
    """Run the import use case with a progress bar per stage (read, check, write)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from endpoints import imports

    labels = {"parse": "Đọc tệp", "validate": "Kiểm tra", "insert": "Ghi vào cơ sở dữ liệu"}
    settings = get_settings()
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        current: list[Any] = []

        def stage(name: str) -> None:
            if current:
                task = bar.tasks[current[-1]]
                bar.update(current[-1], total=task.total or 1, completed=task.total or 1)
            current.append(bar.add_task(labels.get(name, name), total=None))

        def progress(done: int, total: int) -> None:
            bar.update(current[-1], completed=done, total=total)

        report = imports.import_sites(
            db,
            conference_id=conference,
            filename=file.name,
            data=file.read_bytes(),
            actor=actor,
            progress=progress,
            stage=stage,
            max_bytes=settings.max_import_bytes,
            max_rows=settings.max_import_rows,
        )
        stage("done")
        bar.remove_task(current[-1])
    return report


def _print_line_errors(console: "Console", exc: "ImportRejected", *, title: str) -> None:
    """The rejected lines as a table: line, column, message, value."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for name, style in (("Dòng", "cyan"), ("Cột", ""), ("Lỗi", "red"), ("Giá trị", "dim")):
        table.add_column(name, style=style or None, overflow="fold")
    for e in exc.extra.get("errors", []):
        table.add_row(str(e["line"]), e["header"] or e["column"], e["message"], e["value"])
    console.print(table)


@cli.command("load-units")
def load_units(
    province: Annotated[
        int | None, typer.Option("--province", help="Mã tỉnh/thành (mặc định: toàn quốc)")
    ] = None,
    user: UserOption = None,
) -> None:
    """Create or update hub and commune sites from the official list of administrative units."""
    from app.errors import AppError
    from app.migrate import upgrade
    from app.text import format_number as number
    from endpoints import imports, units

    upgrade(get_settings().database_url)
    engine = _engine()
    try:
        with Session(engine, expire_on_commit=False) as db:
            report = units.load_units(
                db, actor=imports.admin_account(db, username=user), province_code=province
            )
    except AppError as exc:
        typer.echo(f"{exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    where = f"tỉnh/thành mã {province:02d}" if province is not None else "toàn quốc"
    typer.echo(
        f"Đã nạp danh mục đơn vị hành chính {where} trong {report.seconds:.2f} giây: "
        f"tạo mới {number(report.created)}, cập nhật {number(report.updated)}, "
        f"không đổi {number(report.unchanged)}"
        + (f", đã sáp nhập/giải thể {number(report.inactive)}" if report.inactive else "")
        + "."
    )
    for code, old, new in report.renamed:
        typer.echo(f"Đổi tên {code}: {old} → {new}")


@cli.command("rotate-pass-key")
def rotate_pass_key() -> None:
    """Make a new pass-signing key; passes already issued keep working."""
    from app.migrate import upgrade
    from checkin import keys

    settings = get_settings()
    upgrade(settings.database_url)
    engine = _engine()
    try:
        key = keys.rotate(engine, secret_key=settings.secret_key)
    finally:
        engine.dispose()
    typer.echo(
        f"Đã tạo khoá ký thẻ mới “{key.kid}”. Thẻ mới được ký bằng khoá này; thẻ đã in vẫn "
        "dùng được. Máy chủ đang chạy nhận khoá mới trong vòng vài phút."
    )


@cli.command("revoke-pass-key")
def revoke_pass_key(
    kid: Annotated[str, typer.Argument(help="Mã khoá (xem GET /api/v1/pass-keys), vd. k1")],
) -> None:
    """Revoke a retired pass-signing key: passes it signed are refused (pass_key_revoked)."""
    from app.errors import AppError
    from app.migrate import upgrade
    from checkin import keys

    settings = get_settings()
    upgrade(settings.database_url)
    engine = _engine()
    try:
        keys.revoke(engine, kid=kid, secret_key=settings.secret_key)
    except AppError as exc:
        typer.echo(f"{exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(
        f"Đã thu hồi khoá ký thẻ “{kid}”. Thẻ ký bằng khoá này bị từ chối (pass_key_revoked); "
        f"máy chủ đang chạy áp dụng trong vòng {int(keys.REVOCATION_TTL)} giây."
    )


BasisOption = Annotated[str, typer.Option(
    "--basis", help="Cơ sở xử lý dữ liệu: unit (đơn vị cử), consent (đại biểu tự đồng ý), "
                    "duty (nhiệm vụ theo quy định của pháp luật)")]


@cli.command("import-attendees")
def import_attendees(
    file: ImportFile, conference: ConferenceOption, user: UserOption = None,
    basis: BasisOption = "unit",
) -> None:
    """Import a roster (họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại): all or none.
    The account (--user) is recorded as who supplied it, with the basis (--basis)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from app.text import format_number as number
    from checkin.basis import parse_basis

    settings = get_settings()
    console = Console(highlight=False)
    with (
        _importing(console, file, user, nothing_done="chưa nhập đại biểu nào") as (db, actor),
        Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
        ) as bar,
    ):
        chosen = parse_basis(basis)
        task = bar.add_task("Kiểm tra và ghi", total=None)
        report = roster_import.import_attendees(
            db,
            conference_id=conference,
            filename=file.name,
            data=file.read_bytes(),
            actor=actor,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            max_bytes=settings.max_import_bytes,
            max_rows=settings.max_roster_rows,
            basis=chosen,
        )
    _print_done(
        console,
        f"Đã nhập [bold]{number(report.created)}[/bold] đại biểu vào hội nghị #{conference} "
        f"trong {report.seconds['total']:.2f} giây.",
        report.warnings,
    )


@cli.command()
def backup(
    file: Annotated[Path, typer.Argument(help="Tệp sao lưu sẽ tạo", dir_okay=False)],
    overwrite: Annotated[bool, typer.Option(help="Ghi đè nếu tệp đã có")] = False,
) -> None:
    """Back the whole database up to FILE while the service keeps running."""
    from app import backup as backups
    from app.text import format_number as number

    try:
        done = backups.backup(database_url=get_settings().database_url, target=file,
                              overwrite=overwrite)
    except backups.BackupError as exc:
        typer.echo(f"{exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Đã sao lưu vào {done.path} ({number(done.size // 1024)} KiB, "
               f"{done.seconds:.2f} giây).")


@cli.command()
def restore(
    file: Annotated[Path, typer.Argument(help="Tệp sao lưu (từ diemcau backup)", dir_okay=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Không hỏi lại")] = False,
) -> None:
    """Replace the database with the backup in FILE, then migrate it (stop the service first)."""
    from app import backup as backups
    from app.migrate import upgrade

    settings = get_settings()
    if not yes:
        typer.confirm("Dữ liệu hiện tại sẽ bị thay bằng bản sao lưu. Tiếp tục?", abort=True)
    try:
        done = backups.restore(database_url=settings.database_url, source=file)
    except backups.BackupError as exc:
        typer.echo(f"{exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    upgrade(settings.database_url)  # an older backup comes up to this version's schema
    kept = f" Dữ liệu trước khi khôi phục được giữ ở {done.kept_previous}." if (
        done.kept_previous) else ""
    typer.echo(f"Đã khôi phục từ {done.path} ({done.seconds:.2f} giây).{kept}")


def main() -> None:
    """Console-script entry point."""
    try:
        cli()
    except ValidationError as exc:
        # Bad settings are the operator's to fix: say which, without a traceback.
        typer.echo("Cấu hình không hợp lệ (biến môi trường DIEMCAU_* hoặc .env):", err=True)
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            typer.echo(f"- {field}: {err['msg']}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
