"""JSON API of the registry: parse → service → schema."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app import uploads
from app.accounts import service as accounts_service
from app.accounts.models import Password, Username, UserPublic
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, CurrentUser, HubDep, PairingLimiterDep, SettingsDep
from app.text import Name
from endpoints import imports, presence, rollcall, screens, service
from endpoints.errors import PairingCodeInvalid
from endpoints.models import (
    Approval,
    ConferenceCreate,
    ConferencePublic,
    ConnectionTestCreate,
    ConnectionTestPublic,
    Incident,
    IncidentCreate,
    IncidentPublic,
    InviteCreate,
    InviteCreated,
    InvitePublic,
    PairingCode,
    PairRequest,
    Phone,
    PresenceEventPublic,
    Readiness,
    Registration,
    RegistrationPublic,
    ScreenCreate,
    ScreenPublic,
    ScreensOnline,
    ScreenToken,
    SiteCreate,
    SiteKind,
    SitePublic,
    SiteUpdate,
)

router = APIRouter(prefix="/api/v1")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


class CoordinatorCreate(BaseModel):
    model_config = {"extra": "forbid"}

    username: Username
    password: Password
    full_name: Name
    phone: Phone | None = None


@router.post("/auth/token", response_model=Token, tags=["auth"])
def login_for_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbSession, settings: SettingsDep
) -> Token:
    """OAuth2 password flow: exchange username and password for a bearer token."""
    user = accounts_service.authenticate(db, username=form.username, password=form.password)
    return Token(access_token=accounts_service.issue_token(user=user, secret=settings.secret_key))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
def logout(db: DbSession, user: CurrentUser) -> None:
    """Invalidate every token of the current user."""
    accounts_service.logout(db, user=user)


@router.get("/auth/me", response_model=UserPublic, tags=["auth"])
def me(user: CurrentUser) -> UserPublic:
    """The current account."""
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/conferences", response_model=ConferencePublic, status_code=201, tags=["conferences"]
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


def _site(site: object) -> SitePublic:
    return SitePublic.model_validate(site, from_attributes=True)


@router.post(
    "/conferences/{conference_id}/sites",
    response_model=SitePublic,
    status_code=201,
    tags=["sites"],
)
def create_site(
    conference_id: int, data: SiteCreate, db: DbSession, user: CurrentUser
) -> SitePublic:
    """Add a site (a coordinator only below their own site)."""
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
    page = service.list_sites(
        db,
        conference_id=conference_id,
        actor=user,
        filters=service.SiteFilter(
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
    return [_site(s) for s in page.items]


@router.get("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def get_site(site_id: int, db: ReadDbSession, user: CurrentUser) -> SitePublic:
    """One site in the user's scope."""
    return _site(service.get_site(db, site_id=site_id, actor=user))


@router.patch("/sites/{site_id}", response_model=SitePublic, tags=["sites"])
def update_site(
    site_id: int, data: SiteUpdate, db: DbSession, user: CurrentUser, hub: HubDep
) -> SitePublic:
    """Change a site in the user's scope (readiness changes reach the live dashboard)."""
    return _site(
        service.update_site(db, site_id=site_id, data=data, actor=user, publish=hub.publish)
    )


@router.delete("/sites/{site_id}", status_code=204, tags=["sites"])
def delete_site(site_id: int, db: DbSession, user: AdminUser) -> None:
    """Remove a site with no sites below it (central office)."""
    service.delete_site(db, site_id=site_id, actor=user)


@router.post(
    "/sites/{site_id}/coordinators", response_model=UserPublic, status_code=201, tags=["sites"]
)
def create_coordinator(
    site_id: int, data: CoordinatorCreate, db: DbSession, user: AdminUser
) -> UserPublic:
    """Give a site a coordinator account directly (central office)."""
    account = service.create_coordinator(
        db,
        site_id=site_id,
        username=data.username,
        password=data.password,
        full_name=data.full_name,
        phone=data.phone,
        actor=user,
    )
    return UserPublic.model_validate(account, from_attributes=True)


@router.post(
    "/conferences/{conference_id}/invites",
    response_model=InviteCreated,
    status_code=201,
    tags=["invites"],
)
def create_invite(
    conference_id: int,
    data: InviteCreate,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
) -> InviteCreated:
    """An invite link for a new site; the token is shown once, only its hash is kept."""
    invite, token = service.create_invite(
        db,
        conference_id=conference_id,
        data=data,
        actor=user,
        default_days=settings.invite_days,
    )
    return InviteCreated.model_validate(
        {**invite.model_dump(), "token": token, "url": f"/invite/{token}"}
    )


@router.get(
    "/conferences/{conference_id}/invites", response_model=list[InvitePublic], tags=["invites"]
)
def list_invites(conference_id: int, db: ReadDbSession, user: AdminUser) -> list[InvitePublic]:
    """Invites of a conference."""
    return [
        InvitePublic.model_validate(i, from_attributes=True)
        for i in service.list_invites(db, conference_id=conference_id, actor=user)
    ]


@router.post("/invites/{invite_id}/revoke", response_model=InvitePublic, tags=["invites"])
def revoke_invite(invite_id: int, db: DbSession, user: AdminUser) -> InvitePublic:
    """Stop an invite link from working."""
    invite = service.revoke_invite(db, invite_id=invite_id, actor=user)
    return InvitePublic.model_validate(invite, from_attributes=True)


@router.post(
    "/invites/{token}/register",
    response_model=RegistrationPublic,
    status_code=201,
    tags=["invites"],
)
def register(token: str, data: Registration, db: DbSession) -> RegistrationPublic:
    """Register a site and its coordinator through an invite (no login needed)."""
    site, account = service.register_with_invite(db, token=token, data=data)
    return RegistrationPublic(
        site=_site(site), user=UserPublic.model_validate(account, from_attributes=True)
    )


@router.get(
    "/conferences/{conference_id}/registrations",
    response_model=list[RegistrationPublic],
    tags=["invites"],
)
def list_registrations(
    conference_id: int,
    db: ReadDbSession,
    user: AdminUser,
    approval: Approval = Approval.pending,
) -> list[RegistrationPublic]:
    """Sites registered through invites, waiting for (or past) a decision."""
    return [
        RegistrationPublic(
            site=_site(s), user=UserPublic.model_validate(u, from_attributes=True)
        )
        for s, u in service.list_registrations(
            db, conference_id=conference_id, actor=user, approval=approval
        )
        if u is not None
    ]


@router.post("/sites/{site_id}/approve", response_model=SitePublic, tags=["invites"])
def approve(site_id: int, db: DbSession, user: AdminUser) -> SitePublic:
    """Approve a registered site and activate its coordinator."""
    return _site(service.approve_registration(db, site_id=site_id, actor=user))


@router.post("/sites/{site_id}/reject", response_model=SitePublic, tags=["invites"])
def reject(site_id: int, db: DbSession, user: AdminUser) -> SitePublic:
    """Reject a registered site."""
    return _site(service.reject_registration(db, site_id=site_id, actor=user))


# ------------------------------------------------------------------- screens


def _screen(screen: object) -> ScreenPublic:
    return ScreenPublic.model_validate(screen, from_attributes=True)


@router.post(
    "/sites/{site_id}/screen-token", response_model=ScreenToken, status_code=201, tags=["screens"]
)
def enroll_screen(
    site_id: int, db: DbSession, user: CurrentUser, data: ScreenCreate | None = None
) -> ScreenToken:
    """Enrol one screen of a site; the token is shown once (open `url` on the projector)."""
    screen, token = screens.enroll_screen(
        db, site_id=site_id, actor=user, name=data.name if data else None
    )
    assert screen.id is not None
    return ScreenToken(
        token=token, screen_id=screen.id, site_id=site_id, url=f"/screen#token={token}"
    )


@router.post(
    "/sites/{site_id}/pairing-code", response_model=PairingCode, status_code=201, tags=["screens"]
)
def create_pairing_code(
    site_id: int, db: DbSession, user: CurrentUser, data: ScreenCreate | None = None
) -> PairingCode:
    """A short code (10 minutes, one use) to type on the projector PC at /screen/pair."""
    screen, code = screens.create_pairing_code(
        db, site_id=site_id, actor=user, name=data.name if data else None
    )
    assert screen.id is not None and screen.pairing_expires_at is not None
    return PairingCode(code=code, screen_id=screen.id, expires_at=screen.pairing_expires_at)


@router.post("/screens/pair", response_model=ScreenToken, status_code=201, tags=["screens"])
def pair_screen(
    data: PairRequest, request: Request, db: DbSession, limiter: PairingLimiterDep
) -> ScreenToken:
    """A screen exchanges its pairing code for a token (no login; attempts are limited)."""
    client = request.client.host if request.client else "?"
    limiter.check(client)
    try:
        screen, token = screens.pair_screen(db, code=data.code)
    except PairingCodeInvalid:
        limiter.failed(client)
        raise
    assert screen.id is not None
    return ScreenToken(
        token=token, screen_id=screen.id, site_id=screen.site_id, url=f"/screen#token={token}"
    )


@router.get("/sites/{site_id}/screens", response_model=list[ScreenPublic], tags=["screens"])
def list_screens(site_id: int, db: ReadDbSession, user: CurrentUser) -> list[ScreenPublic]:
    """Screens of a site."""
    return [_screen(s) for s in screens.list_screens(db, site_id=site_id, actor=user)]


@router.delete("/screens/{screen_id}", response_model=ScreenPublic, tags=["screens"])
def revoke_screen(screen_id: int, db: DbSession, user: CurrentUser) -> ScreenPublic:
    """Revoke a screen: its token stops working and its open connection is closed."""
    screen = screens.revoke_screen(db, screen_id=screen_id, actor=user)
    return _screen(screen)


@router.get(
    "/conferences/{conference_id}/screens/online", response_model=ScreensOnline, tags=["screens"]
)
def screens_online(conference_id: int, db: ReadDbSession, user: CurrentUser) -> ScreensOnline:
    """How many screens (and sites) sent a heartbeat in the last 45 seconds."""
    online, sites = screens.count_online(db, conference_id=conference_id, actor=user)
    return ScreensOnline(online=online, sites_online=sites)


# ------------------------------------------------------------- site import


class SiteImportResult(BaseModel):
    """What an accepted site-tree import did."""

    created: int
    rows: int
    encoding: str
    warnings: list[str]
    by_kind: dict[str, int]
    seconds: dict[str, float]


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


@router.post(
    "/conferences/{conference_id}/sites/import",
    response_model=SiteImportResult,
    status_code=201,
    tags=["sites"],
    openapi_extra=_IMPORT_BODY,
    responses={
        413: {"description": "file_too_large, too_many_rows"},
        415: {"description": "unsupported_file, encoding_unsupported"},
        422: {"description": "import_invalid (with per-line `errors`), missing_columns"},
    },
)
async def import_sites(
    conference_id: int,
    request: Request,
    db: DbSession,
    user: AdminUser,
    settings: SettingsDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> SiteImportResult:
    """Import a site tree from CSV/XLSX (multipart field `file`, or a raw text/csv body
    with `?filename=`); all rows or none, every bad line reported in `errors`."""
    upload = await uploads.read_upload(
        request, max_bytes=settings.max_import_bytes, filename=filename
    )
    report = await run_in_threadpool(
        imports.import_sites,
        db,
        conference_id=conference_id,
        filename=upload.filename,
        data=upload.data,
        actor=user,
        max_bytes=settings.max_import_bytes,
        max_rows=settings.max_import_rows,
    )
    return SiteImportResult(
        created=report.created, rows=report.rows, encoding=report.encoding,
        warnings=report.warnings, by_kind=report.counts, seconds=report.seconds,
    )


# ------------------------------------------------- presence and roll-call (issue 5)


@router.post(
    "/sites/{site_id}/connection-test",
    response_model=ConnectionTestPublic,
    status_code=201,
    tags=["roll-call"],
    dependencies=[CookieCsrf],
    responses={409: {"description": "site_not_participating"}},
)
def connection_test(
    site_id: int, data: ConnectionTestCreate, db: DbSession, user: CurrentUser, hub: HubDep
) -> ConnectionTestPublic:
    """Record the connection-test checklist: all good → "tested", else an incident."""
    test, site = rollcall.record_connection_test(
        db, site_id=site_id, data=data, actor=user, publish=hub.publish
    )
    return ConnectionTestPublic(
        id=test.id or 0, site_id=test.site_id, picture=test.picture, sound=test.sound,
        link=test.link, note=test.note, at=test.at, readiness=site.readiness,
    )


def _incident(incident: Incident, site_name: str) -> IncidentPublic:
    return IncidentPublic(
        id=incident.id or 0, conference_id=incident.conference_id, site_id=incident.site_id,
        site_name=site_name, reason=incident.reason, opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
    )


@router.post(
    "/sites/{site_id}/incidents",
    response_model=IncidentPublic,
    status_code=201,
    tags=["roll-call"],
    dependencies=[CookieCsrf],
    responses={409: {"description": "site_not_participating"}},
)
def report_incident(
    site_id: int, data: IncidentCreate, db: DbSession, user: CurrentUser, hub: HubDep
) -> IncidentPublic:
    """Report a problem at a site: its readiness becomes "incident" until resolved."""
    incident = rollcall.report_incident(
        db, site_id=site_id, reason=data.reason, actor=user, publish=hub.publish
    )
    return _incident(incident, service.get_site(db, site_id=site_id, actor=user).name)


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=IncidentPublic,
    tags=["roll-call"],
    dependencies=[CookieCsrf],
)
def resolve_incident(
    incident_id: int, db: DbSession, user: CurrentUser, hub: HubDep
) -> IncidentPublic:
    """Close an incident; the site's earlier readiness comes back once none is open."""
    incident = rollcall.resolve_incident(
        db, incident_id=incident_id, actor=user, publish=hub.publish
    )
    return _incident(incident, service.get_site(db, site_id=incident.site_id, actor=user).name)


@router.get(
    "/conferences/{conference_id}/incidents",
    response_model=list[IncidentPublic],
    tags=["roll-call"],
)
def list_incidents(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[IncidentPublic]:
    """Incidents of the sites in the user's scope, most recent first."""
    return rollcall.list_incidents(
        db, conference_id=conference_id, actor=user, open_only=open_only, limit=limit
    )


@router.get(
    "/sites/{site_id}/presence",
    response_model=list[PresenceEventPublic],
    tags=["roll-call"],
)
def presence_history(
    site_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[PresenceEventPublic]:
    """When a site went online and offline, newest first."""
    return [
        PresenceEventPublic(site_id=e.site_id, online=e.online, at=e.at)
        for e in presence.presence_history(db, site_id=site_id, actor=user, limit=limit)
    ]
