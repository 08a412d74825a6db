"""JSON API of the privacy notice: read it (anyone), edit it and the retention period
(central office)."""

from fastapi import APIRouter

from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, SettingsDep
from endpoints import privacy
from endpoints.privacy_models import NoticePublic, PrivacyUpdate

router = APIRouter(prefix="/api/v1")


def _public(notice: privacy.Notice) -> NoticePublic:
    return NoticePublic.model_validate(notice, from_attributes=True)


@router.get("/privacy/{conference_id}", response_model=NoticePublic, tags=["privacy"],
            responses={404: {"description": "conference_not_found"}})
def public_notice(conference_id: int, db: ReadDbSession, settings: SettingsDep) -> NoticePublic:
    """A conference's privacy notice (no login): the text attendees and registering
    coordinators read, its version and since when."""
    return _public(privacy.public_notice(db, conference_id=conference_id,
                                         controller=privacy.controller_of(settings)))


@router.get("/conferences/{conference_id}/privacy", response_model=NoticePublic,
            tags=["privacy"])
def privacy_settings(
    conference_id: int, db: ReadDbSession, user: AdminUser, settings: SettingsDep
) -> NoticePublic:
    """The notice and retention period of a conference (central office)."""
    return _public(privacy.privacy_settings(db, conference_id=conference_id, actor=user,
                                            controller=privacy.controller_of(settings)))


@router.put(
    "/conferences/{conference_id}/privacy", response_model=NoticePublic, tags=["privacy"],
    dependencies=[CookieCsrf],
    responses={422: {"description": "notice_too_long, notice_invalid, retention_out_of_range"}},
)
def update_privacy(
    conference_id: int, data: PrivacyUpdate, db: DbSession, user: AdminUser,
    settings: SettingsDep,
) -> NoticePublic:
    """Change the notice (`text`; empty or null: back to the default) and/or the
    retention period in days (1–3650). A change of the text read bumps `version`, and
    coordinators registering from then on must accept the new version."""
    return _public(privacy.update_privacy(
        db, conference_id=conference_id, actor=user, controller=privacy.controller_of(settings),
        text=data.text, set_text="text" in data.model_fields_set,
        retention_days=data.retention_days,
    ))
