"""The follow-along link offered where attendees are: on a site screen and after a self
check-in (read through the sessions service's per-process memory: no read on most calls)."""

from sqlmodel import Session

from app.config import Settings
from sessions import service as sessions_service


def follow_url(db: Session, *, base: str, conference_id: int, settings: Settings) -> str | None:
    """The conference's follow-along page, or None once its links have expired."""
    token = sessions_service.follow_link_token(
        db, conference_id=conference_id, secret=settings.secret_key,
        grace_days=settings.follow_grace_days,
    )
    return f"{base.rstrip('/')}/follow/{token}" if token else None
