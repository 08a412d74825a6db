"""`diemcau serve` checks its realtime broker before any worker starts.

A hub that cannot reach Redis starts degraded (app/realtime/redis_hub.py) and would
never deliver across workers: with several workers a screen on one would miss the
presenter's command taken by another, silently. So serve refuses to start instead.
"""

from urllib.parse import urlsplit, urlunsplit

import redis
import typer


class BrokerUnavailable(Exception):
    """The broker named by DIEMCAU_BROKER_URL did not answer."""


def redacted(url: str) -> str:
    """The URL without its password (it goes to the terminal and the logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_broker(url: str, *, timeout: float = 3.0) -> None:
    """PING the Redis broker of `url`; raise BrokerUnavailable with a safe message."""
    if urlsplit(url).scheme.lower() not in ("redis", "rediss"):
        return
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        # The exception text may carry the address only, never the password; name the
        # error class rather than echo it to stay sure.
        raise BrokerUnavailable(
            f"Không kết nối được bộ chuyển tin DIEMCAU_BROKER_URL={redacted(url)} "
            f"({type(exc).__name__}). Hãy khởi động Redis hoặc sửa địa chỉ rồi chạy lại."
        ) from exc
    finally:
        client.close()


def refuse_unreachable_broker(url: str) -> None:
    """Exit 2 with the reason when the Redis broker does not answer, whatever --workers:
    one worker would start as blind as two (no fallback to the in-process hub)."""
    try:
        check_broker(url)
    except BrokerUnavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
