"""Settings: one pydantic-settings class, `DIEMCAU_` prefix, fail fast on bad values."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.secret_file import MIN_SECRET_CHARS, load_or_create_secret

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The secret of old .env files: refused in production and whenever the server is reachable.
DEV_SECRET = "dev-secret-change-me"  # noqa: S105 - refused, never used by default
DEV_ADMIN_PASSWORD = "admin"  # noqa: S105 - refused outside development and off loopback


class Settings(BaseSettings):
    """Every setting of the service; read from `DIEMCAU_*` variables and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="DIEMCAU_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./diemcau.db"
    broker_url: str = "memory://"
    # Redis channel names start with this. Pub/sub ignores the database number of the
    # URL: installations (or test runs) sharing one Redis need prefixes of their own.
    broker_channel_prefix: str = Field(default="diemcau:", min_length=1, max_length=100)
    # Empty: generated at first start and kept in `data_dir`/secret_key (mode 0600),
    # outside production (several hosts must share one, so production needs it set).
    secret_key: str = ""
    admin_username: str = "admin"
    admin_password: str = DEV_ADMIN_PASSWORD
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_minutes: int = Field(default=12 * 60, ge=5, le=7 * 24 * 60)
    invite_days: int = Field(default=14, ge=1, le=90)
    # A password reset link issued by the central office works once, for this many hours.
    reset_link_hours: int = Field(default=24, ge=1, le=168)
    # Secure cookies (and `__Host-` cookie names); always on when env is production.
    cookie_secure: bool = False
    max_import_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_import_rows: int = Field(default=40_000, ge=1)
    db_pool_size: int = Field(default=20, ge=1, le=200)
    access_log: bool = False
    # Rendered slide images live here (relative paths are taken from the working folder).
    data_dir: Path = Path("var")
    max_deck_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    max_deck_pages: int = Field(default=300, ge=1, le=5000)
    # Time budget to render an uploaded PDF deck to slide images; a longer render is
    # stopped (its process killed) and the deck refused with deck_render_timeout.
    deck_render_seconds: float = Field(default=120.0, gt=0, le=3600)
    # Check-in: a pass works until this many days after the conference's last day.
    pass_valid_days: int = Field(default=30, ge=1, le=3650)
    # Follow-along links stop at the end of the conference's last day plus this many days.
    follow_grace_days: int = Field(default=0, ge=0, le=365)
    # A pass of another site: "flag" accepts it and marks it, "refuse" answers pass_wrong_site.
    foreign_site_policy: Literal["flag", "refuse"] = "flag"
    max_roster_rows: int = Field(default=300_000, ge=1)
    # Offline sync: a queued scan, headcount or incident older than this is refused
    # (scan_too_old: a device with a wrong clock), and one later than the server's now by
    # more than the skew is refused (scan_time_future).
    offline_max_age_minutes: int = Field(default=720, ge=1, le=7 * 24 * 60)
    offline_clock_skew_seconds: int = Field(default=120, ge=0, le=3600)
    # Presence: a site is offline once no screen of it sent a heartbeat for this long;
    # transitions are computed every tick, heartbeats written every flush.
    presence_timeout_seconds: float = Field(default=45.0, gt=0, le=3600)
    presence_tick_seconds: float = Field(default=5.0, gt=0, le=300)
    presence_flush_seconds: float = Field(default=10.0, gt=0, le=300)
    # Anonymous refused scans (self check-in) are counted in memory and written this often.
    miss_flush_seconds: float = Field(default=5.0, gt=0, le=300)
    # The daily retention purge (checkin/retention_job.py) runs shortly after start-up and
    # then every day at this local hour (Asia/Ho_Chi_Minh); -1 turns it off (the
    # `diemcau purge` command still purges).
    purge_hour: int = Field(default=3, ge=-1, le=23)
    # Check-ins and views of personal data are counted in memory and written to the audit
    # log as one summary entry per actor, site and kind this often (app/audit/spool.py).
    audit_flush_seconds: float = Field(default=5.0, gt=0, le=300)
    # Dashboard updates are coalesced: at most one message per scope per interval.
    dashboard_interval_seconds: float = Field(default=0.3, ge=0.05, le=60)
    # Throttling (app/throttle.py): where failure counts live. "auto" = Redis when the broker
    # is Redis, else the database; "memory" is right only for a single-process server.
    throttle_backend: Literal["auto", "redis", "database", "memory"] = "auto"
    # Wrong passwords allowed before the waits start (doubling from 1 s up to 15 min).
    login_failures_per_client: int = Field(default=10, ge=1, le=1000)
    login_failures_per_account: int = Field(default=5, ge=1, le=1000)
    # Self check-in misses (unknown or bad codes) before the waits start.
    self_checkin_misses_per_client: int = Field(default=10, ge=1, le=10_000)
    self_checkin_misses_per_site: int = Field(default=100, ge=1, le=100_000)
    # Open websockets per client address and process (0 = no cap; benches from one host).
    ws_connections_per_client: int = Field(default=100, ge=0, le=100_000)
    # Admission of new websockets per process (app/admission.py): past this rate (after a
    # burst), this many handshakes under way or this many open sockets, a new socket is
    # closed at once with 1013 and `retry_after=N` seconds (at most
    # ws_retry_after_max_seconds) instead of queuing. 0 turns the rate or the handshake
    # cap off; ws_max_open 0 = the open-file limit less 1,000.
    ws_admit_per_second: float = Field(default=600.0, ge=0, le=100_000)
    ws_admit_burst: int = Field(default=600, ge=1, le=100_000)
    ws_admit_pending: int = Field(default=64, ge=0, le=100_000)
    # While the event loop lags more than this (ms), the admitted rate falls (by 30 % a
    # tick), then climbs back to ws_admit_per_second; 0 = a fixed rate.
    ws_admit_max_lag_ms: int = Field(default=0, ge=0, le=60_000)
    # A new socket whose request waited longer than this (ms) in the kernel's listen queue
    # is shed: the worker is behind (0 = never for this reason).
    ws_admit_max_wait_ms: int = Field(default=3000, ge=0, le=60_000)
    ws_max_open: int = Field(default=0, ge=0, le=1_000_000)
    ws_retry_after_max_seconds: int = Field(default=60, ge=1, le=3600)
    # The controller of the personal data (bên kiểm soát dữ liệu cá nhân), named in every
    # conference's default privacy notice, and how to reach them (address, phone, email).
    controller_name: str = Field(default="Ban tổ chức hội nghị", max_length=300)
    controller_contact: str = Field(default="", max_length=500)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("controller_name", "controller_contact")
    @classmethod
    def _trimmed(cls, value: str, info: ValidationInfo) -> str:
        value = " ".join(value.split())
        if not value and info.field_name == "controller_name":
            raise ValueError("DIEMCAU_CONTROLLER_NAME must name the controller of the data")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("DIEMCAU_DATABASE_URL must be sqlite:/// or postgresql+psycopg://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("DIEMCAU_BROKER_URL must be memory:// or redis://")
        return value

    @model_validator(mode="before")
    @classmethod
    def _generated_secret(cls, data: object) -> object:
        # No secret set: use (or make) the one in the data folder, never a known default.
        if not isinstance(data, dict) or data.get("secret_key"):
            return data
        if data.get("env", "development") == "production":
            return data  # refused below: every host of a deployment needs the same secret
        data_dir = Path(data.get("data_dir") or "var")
        return {**data, "secret_key": load_or_create_secret(data_dir)}

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "Settings":
        # A default secret in production would let anyone mint login tokens and passes.
        if self.env == "production":
            if self.uses_default_secret:
                raise ValueError(
                    "DIEMCAU_SECRET_KEY must be set to a random value of 32+ characters "
                    "outside development"
                )
            if self.admin_password == DEV_ADMIN_PASSWORD:
                raise ValueError("DIEMCAU_ADMIN_PASSWORD must be changed outside development")
        return self

    @property
    def secure_cookies(self) -> bool:
        """True when cookies must be Secure: set, or forced in production (plain-http
        development and tests keep working without it)."""
        return self.cookie_secure or self.env == "production"

    @property
    def uses_default_secret(self) -> bool:
        """The secret is the published development one (or too short to be random)."""
        return self.secret_key == DEV_SECRET or len(self.secret_key) < MIN_SECRET_CHARS

    @property
    def is_sqlite(self) -> bool:
        """True when the embedded SQLite database is in use."""
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
