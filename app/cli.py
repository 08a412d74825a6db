"""The `diemcau` command: serve, demo, create-admin, import-sites, migrate."""

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import get_settings

cli = typer.Typer(
    help="diemcau — quản lý hội nghị trực tiếp kết hợp trực tuyến tại nhiều điểm cầu.",
    no_args_is_help=True,
    add_completion=False,
)


def _engine() -> Engine:
    from app.db import create_db_engine

    settings = get_settings()
    return create_db_engine(settings.database_url, pool_size=2)


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất.")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Nạp hội nghị mẫu trước khi chạy")] = False,
    workers: Annotated[int, typer.Option(help="Số tiến trình (cần Redis khi > 1)")] = 1,
) -> None:
    """Migrate the database, then run the service."""
    import uvicorn

    from app.migrate import upgrade

    settings = get_settings()
    if workers > 1 and settings.broker_url.startswith("memory"):
        raise typer.BadParameter(
            "--workers > 1 cần DIEMCAU_BROKER_URL=redis://…", param_hint="--workers"
        )
    upgrade(settings.database_url)
    if demo:
        _load_demo()
    typer.echo(f"diemcau đang chạy tại http://{host}:{port}")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        # Per-message compression costs 64+ KB per socket; our messages are small.
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        log_level="info",
    )


def _load_demo() -> None:
    from app.demo import load_demo
    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    engine = _engine()
    with Session(engine) as db:
        summary = load_demo(db, admin_username=settings.admin_username,
                            admin_password=settings.admin_password)
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
    from app.migrate import upgrade
    from endpoints import errors
    from endpoints import service as endpoints_service

    if len(password) < 8:
        raise typer.BadParameter("Mật khẩu cần ít nhất 8 ký tự", param_hint="--password")
    upgrade(get_settings().database_url)
    engine = _engine()
    with Session(engine) as db:
        try:
            endpoints_service.create_admin(
                db, username=username, password=password, full_name=full_name
            )
        except errors.UsernameTaken as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(1) from exc
    engine.dispose()
    typer.echo(f"Đã tạo tài khoản ban tổ chức {username}.")


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
