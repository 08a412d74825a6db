"""Helpers of the registry tests: a small app with only the registry's routers and pages
(besides login), bearer headers, conferences dated around today, screens and invites."""

from collections.abc import Iterator
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.db import local_today, utcnow
from app.main import create_app
from app.security import hash_token
from endpoints import service
from endpoints.invite_models import Invite
from endpoints.models import Conference, ConferenceCreate, Site
from endpoints.screen_models import ScreenDevice
from tests.conftest import SECRET


def registry_app(settings: Settings) -> FastAPI:
    """The whole app (the registry routes and pages among them)."""
    return create_app(settings)


def registry_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(registry_app(settings)) as client:
        yield client


def bearer(user: User) -> dict[str, str]:
    token = accounts_service.issue_token(user=user, secret=SECRET)
    return {"Authorization": f"Bearer {token}"}


def conference(db: Session, actor: User, title: str, start: int, end: int) -> Conference:
    """A conference `start`..`end` days from today (negative: in the past)."""
    today = local_today()
    return service.create_conference(
        db, actor=actor,
        data=ConferenceCreate(title=title, starts_on=today + timedelta(days=start),
                              ends_on=today + timedelta(days=end)),
    )


def invite(db: Session, conference_id: int, *sites: int) -> None:
    for site_id in sites:
        service.invite_site(db, conference_id=conference_id, site=service.load_site(db, site_id))
    db.commit()


def screen(db: Session, site_id: int, *, seen_seconds_ago: int | None) -> int:
    seen = utcnow() - timedelta(seconds=seen_seconds_ago) if seen_seconds_ago is not None else None
    device = ScreenDevice(site_id=site_id, name="Máy chiếu", token_hash=hash_token(f"t{site_id}"),
                          enrolled_at=utcnow(), last_seen_at=seen)
    db.add(device)
    db.commit()
    assert device.id is not None
    return device.id


def invite_link(db: Session, conference_id: int, parent_id: int) -> int:
    token = hash_token(f"i{conference_id}-{parent_id}")
    link = Invite(conference_id=conference_id, token_hash=token, parent_site_id=parent_id,
                  expires_at=utcnow() + timedelta(days=7))
    db.add(link)
    db.commit()
    assert link.id is not None
    return link.id


def site(db: Session, site_id: int) -> Site:
    db.rollback()  # see what other sessions committed
    found = db.get(Site, site_id)
    assert found is not None
    db.refresh(found)
    return found


def days(n: int) -> date:
    return local_today() + timedelta(days=n)
