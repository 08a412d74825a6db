"""JSON API of the registry: parse → service → schema."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response, status
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts import login
from app.accounts import service as accounts_service
from app.accounts.models import UserPublic
from app.audit import spool
from app.config import Settings
from app.db import DbSession, ReadDbSession
from app.deps import (
    AdminUser,
    CookieCsrf,
    CurrentUser,
    HubDep,
    SettingsDep,
    connection_read_engine,
)
from app.throttle import Throttle
from app.throttle_deps import ThrottleDep, client_address
from endpoints import service, site_changes, site_lists
from endpoints.models import (
    Approval,
    ConferenceCreate,
    ConferencePublic,
    Readiness,
    SiteCreate,
    SiteKind,
    SitePublic,
    SiteUpdate,
    SiteView,
)

router = APIRouter(prefix="/api/v1")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


def _token_for(
    request: Request, settings: Settings, throttle: Throttle, username: str, password: str
) -> Token:
    with Session(connection_read_engine(request), expire_on_commit=False) as db:
        user = login.authenticate_throttled(
            db, throttle=throttle, settings=settings, client=client_address(request),
            username=username, password=password,
        )
    return Token(access_token=accounts_service.issue_token(user=user, secret=settings.secret_key))


@router.post("/auth/token", response_model=Token, tags=["auth"],
             responses={429: {"description": "too_many_attempts (Retry-After)"}})
async def login_for_token(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> Token:
    """OAuth2 password flow: exchange username and password for a bearer token.
    Repeated wrong passwords (per client and per account) are answered 429 with Retry-After.

    Async, with the password check in a worker thread: a guesser already known to wait is
    refused on the event loop, at the cost of parsing the form (a flood must stay cheap)."""
    login.precheck(
        throttle, login.login_attempts(settings, client=client_address(request), username=username)
    )
    return await run_in_threadpool(_token_for, request, settings, throttle, username, password)


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"],
    dependencies=[CookieCsrf],
)
def logout(db: DbSession, user: CurrentUser, hub: HubDep) -> None:
    """Invalidate every token of the current user (their open sockets close too)."""
    accounts_service.logout(db, user=user, publish=hub.publish)


@router.get("/auth/me", response_model=UserPublic, tags=["auth"])
def me(user: CurrentUser) -> UserPublic:
    """The current account."""
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/conferences", response_model=ConferencePublic, status_code=201, tags=["conferences"],
    dependencies=[CookieCsrf],
)
def create_conference(data: ConferenceCreate, db: DbSession, user: AdminUser) -> ConferencePublic:
    """Create a conference (central office)."""
    conference = service.create_conference(db, data=data, actor=user)
    return ConferencePublic.model_validate(conference, from_attributes=True)


@router.get("/conferences", response_model=list[ConferencePublic], tags=["conferences"])
def list_conferences(db: ReadDbSession, user: CurrentUser) -> list[ConferencePublic]:
    """Conferences the user takes part in."""
    return [
        ConferencePublic.model_validate(c, from_attributes=True)
        for c in service.list_conferences(db, actor=user)
    ]


@router.get(
    "/conferences/{conference_id}", response_model=ConferencePublic, tags=["conferences"]
)
def get_conference(conference_id: int, db: ReadDbSession, user: CurrentUser) -> ConferencePublic:
    """One conference."""
    conference = service.get_conference(db, conference_id=conference_id, actor=user)
    return ConferencePublic.model_validate(conference, from_attributes=True)


def _site(view: SiteView) -> SitePublic:
    return SitePublic.model_validate(view, from_attributes=True)


@router.post(
    "/conferences/{conference_id}/sites",
    response_model=SitePublic,
    status_code=201,
    tags=["sites"],
    dependencies=[CookieCsrf],
)
def create_site(
    conference_id: int, data: SiteCreate, db: DbSession, user: CurrentUser
) -> SitePublic:
    """Add a site to the registry and to this conference (a coordinator only below their
    own site)."""
    return _site(service.create_site(db, conference_id=conference_id, data=data, actor=user))


@router.get(
    "/conferences/{conference_id}/sites", response_model=list[SitePublic], tags=["sites"]
)
def list_sites(
    conference_id: int,
    response: Response,
    db: ReadDbSession,
    user: CurrentUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: SiteKind | None = None,
    readiness: Readiness | None = None,
    approval: Approval | None = None,
    parent_id: int | None = None,
    under_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[SitePublic]:
    """Sites visible to the user in tree order; the total is in `X-Total-Count`."""
    page = site_lists.list_sites(
        db,
        conference_id=conference_id,
        actor=user,
        filters=site_lists.SiteFilter(
            q=q,
            kind=kind,
            readiness=readiness,
            approval=approval,
            parent_id=parent_id,
            under_id=under_id,
        ),
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(page.total)
    # Sites carry their contact person's name and phone: a view of personal data.
    spool.viewed(db, what="site_list", conference_id=conference_id, site_id=under_id)
    return [_site(s) for s in page.items]


@router.get("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def get_site(
    site_id: int, db: ReadDbSession, user: CurrentUser, conference_id: int | None = None
) -> SitePublic:
    """One site in the user's scope, with its participation in `conference_id` (default:
    the conference it is about now)."""
    view = service.site_view(db, site_id=site_id, actor=user, conference_id=conference_id)
    spool.viewed(db, what="site", object_id=site_id, conference_id=conference_id, site_id=site_id)
    return _site(view)


@router.patch(
    "/sites/{site_id}", response_model=SitePublic, tags=["sites"], dependencies=[CookieCsrf]
)
def update_site(
    site_id: int,
    data: SiteUpdate,
    db: DbSession,
    user: CurrentUser,
    hub: HubDep,
    conference_id: int | None = None,
) -> SitePublic:
    """Change a site in the user's scope; expected attendees and readiness change in its
    participation in `conference_id` (default: the current one) and reach the dashboard."""
    return _site(
        site_changes.update_site(
            db, site_id=site_id, data=data, actor=user, conference_id=conference_id,
            publish=hub.publish,
        )
    )


@router.delete("/sites/{site_id}", status_code=204, tags=["sites"], dependencies=[CookieCsrf])
def delete_site(site_id: int, db: DbSession, user: AdminUser) -> None:
    """Remove a site with no sites below it (central office)."""
    site_changes.delete_site(db, site_id=site_id, actor=user)
