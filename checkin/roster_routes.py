"""JSON API of the roster: attendees, their passes (code and QR images), pass-signing keys."""

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlmodel import Session

from app import uploads
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import spool
from app.config import Settings
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, CurrentUser, SettingsDep
from app.errors import PayloadTooLarge
from app.qrimage import qr_png, qr_svg
from app.text import mask_phone
from checkin import keys, roster, roster_import, search
from checkin.basis import BASES, DEFAULT_BASIS, parse_basis
from checkin.models import Attendee, AttendeeCreate, AttendeePublic, PassKey, PassKeyPublic

router = APIRouter(prefix="/api/v1")
MAX_ATTENDEES_PER_REQUEST = 10_000
BasisQuery = Annotated[str | None, Query(
    max_length=40,
    description="Why the service may hold these people: " + ", ".join(
        f"`{key}` ({label})" for key, label in BASES.items()
    ) + f". Default `{DEFAULT_BASIS}`; another value is refused with `basis_invalid`.",
)]


def _public(attendee: Attendee, code: str, viewer: User) -> AttendeePublic:
    """What the API shows of an attendee; only the central office sees the whole phone."""
    assert attendee.id is not None
    return AttendeePublic(
        phone=attendee.phone if accounts_service.is_admin(viewer) else mask_phone(attendee.phone),
        id=attendee.id,
        conference_id=attendee.conference_id,
        code=code,
        short_code=attendee.short_code,
        full_name=attendee.full_name,
        site_id=attendee.site_id,
        unit=attendee.unit,
        position=attendee.position,
        pass_version=attendee.pass_version,
        revoked=attendee.revoked,
        basis=attendee.basis,
        supplied_by_id=attendee.supplied_by_id,
        supplied_at=attendee.supplied_at,
    )


@router.post(
    "/conferences/{conference_id}/attendees",
    response_model=list[AttendeePublic],
    status_code=201,
    tags=["attendees"],
    dependencies=[CookieCsrf],
)
def create_attendees(
    conference_id: int,
    items: list[AttendeeCreate],
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    basis: BasisQuery = None,
) -> list[AttendeePublic]:
    """Add attendees (at most 10,000 per call); each answer carries `code`, what the QR
    encodes. The caller is recorded as who supplied them, with `basis`."""
    chosen = parse_basis(basis)
    if len(items) > MAX_ATTENDEES_PER_REQUEST:
        raise PayloadTooLarge("Tối đa 10.000 đại biểu mỗi lần; hãy chia nhỏ hoặc nhập bằng tệp.")
    created = roster.create_attendees(db, conference_id=conference_id, items=items, actor=user,
                                      basis=chosen)
    return [_public(a, roster.issue_pass(db, attendee=a, settings=settings), user)
            for a in created]


class AttendeeImportResult(BaseModel):
    """What an accepted roster import did."""

    created: int
    rows: int
    encoding: str
    warnings: list[str]
    by_site: dict[str, int]
    seconds: dict[str, float]


@router.post(
    "/conferences/{conference_id}/attendees/import",
    response_model=AttendeeImportResult,
    status_code=201,
    tags=["attendees"],
    dependencies=[CookieCsrf],
    responses={
        413: {"description": "file_too_large, too_many_rows"},
        415: {"description": "unsupported_file, encoding_unsupported"},
        422: {"description": "import_invalid (with per-line `errors`), missing_columns, "
                             "basis_invalid"},
    },
)
async def import_attendees(
    conference_id: int,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: SettingsDep,
    filename: Annotated[str | None, Query(max_length=200)] = None,
    basis: BasisQuery = None,
) -> AttendeeImportResult:
    """Import a roster from CSV/XLSX (multipart field `file`, or a raw text/csv body with
    `?filename=`): họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại. All or none.
    The caller is recorded as who supplied them, with `basis`."""
    chosen = parse_basis(basis)  # before the upload is read
    report = await uploads.import_upload(
        request,
        run=partial(roster_import.import_attendees, db, conference_id=conference_id, actor=user,
                    max_rows=settings.max_roster_rows, basis=chosen),
        max_bytes=settings.max_import_bytes,
        filename=filename,
    )
    return AttendeeImportResult(
        created=report.created, rows=report.rows, encoding=report.encoding,
        warnings=report.warnings, by_site=report.counts, seconds=report.seconds,
    )


class AttendeeListItem(BaseModel):
    id: int
    full_name: str
    unit: str | None
    position: str | None
    site_id: int
    site_name: str
    short_code: str
    # When they were checked in for `session_id` (or the whole conference); None if not yet.
    checked_in_at: datetime | None = None


@router.get(
    "/conferences/{conference_id}/attendees",
    response_model=list[AttendeeListItem],
    tags=["attendees"],
)
def search_attendees(
    conference_id: int,
    db: ReadDbSession,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    site_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    session_id: int | None = None,
) -> list[AttendeeListItem]:
    """Attendees by name (no accents needed; each word a prefix) or short code, in
    Vietnamese order; `site_id` narrows to a site and those below it. `checked_in_at`
    says who is already checked in for `session_id` (default: the whole conference)."""
    found = search.search_attendees(
        db, conference_id=conference_id, q=q, actor=user, site_id=site_id, limit=limit
    )
    # Counted per actor and flush (the door's name search is frequent); never the query.
    spool.viewed(db, what="attendee_list", conference_id=conference_id, site_id=site_id,
                 search=bool(q))
    names = roster.site_names(db, conference_id=conference_id,
                              site_ids=[a.site_id for a in found])
    here = search.checked_in_times(db, session_id=session_id,
                                   attendee_ids=[a.id or 0 for a in found])
    return [
        AttendeeListItem(
            id=a.id or 0, full_name=a.full_name, unit=a.unit, position=a.position,
            site_id=a.site_id, site_name=names.get(a.site_id, ""), short_code=a.short_code,
            checked_in_at=here.get(a.id or 0),
        )
        for a in found
    ]


@router.get("/attendees/{attendee_id}", response_model=AttendeePublic, tags=["attendees"])
def get_attendee(
    attendee_id: int, db: ReadDbSession, user: CurrentUser, settings: SettingsDep
) -> AttendeePublic:
    """One attendee with their pass code."""
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    spool.viewed(db, what="attendee", object_id=attendee_id,
                 conference_id=attendee.conference_id, site_id=attendee.site_id)
    return _public(attendee, roster.issue_pass(db, attendee=attendee, settings=settings), user)


@router.delete(
    "/attendees/{attendee_id}", status_code=204, tags=["attendees"], dependencies=[CookieCsrf]
)
def delete_attendee(attendee_id: int, db: DbSession, user: CurrentUser) -> None:
    """Take an attendee off the roster; their pass is refused from now on."""
    roster.delete_attendee(db, attendee_id=attendee_id, actor=user)


@router.post(
    "/attendees/{attendee_id}/reissue",
    response_model=AttendeePublic,
    tags=["attendees"],
    dependencies=[CookieCsrf],
)
def reissue_pass(
    attendee_id: int, db: DbSession, user: CurrentUser, settings: SettingsDep
) -> AttendeePublic:
    """A new pass and short code; every earlier pass of this attendee is refused."""
    attendee = roster.reissue_pass(db, attendee_id=attendee_id, actor=user)
    return _public(attendee, roster.issue_pass(db, attendee=attendee, settings=settings), user)


_NO_STORE = {"Cache-Control": "private, no-store"}


def _pass_code(db: Session, *, attendee_id: int, user: User, settings: Settings) -> str:
    attendee = roster.get_attendee(db, attendee_id=attendee_id, actor=user)
    spool.viewed(db, what="pass", object_id=attendee_id, conference_id=attendee.conference_id,
                 site_id=attendee.site_id)
    return roster.issue_pass(db, attendee=attendee, settings=settings)


@router.get(
    "/attendees/{attendee_id}/pass.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
    tags=["attendees"],
)
def pass_png(
    attendee_id: int, db: ReadDbSession, user: CurrentUser, settings: SettingsDep
) -> Response:
    """The pass QR as PNG."""
    code = _pass_code(db, attendee_id=attendee_id, user=user, settings=settings)
    return Response(qr_png(code), media_type="image/png", headers=_NO_STORE)


@router.get(
    "/attendees/{attendee_id}/pass.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    tags=["attendees"],
)
def pass_svg(
    attendee_id: int, db: ReadDbSession, user: CurrentUser, settings: SettingsDep
) -> Response:
    """The pass QR as SVG."""
    code = _pass_code(db, attendee_id=attendee_id, user=user, settings=settings)
    return Response(qr_svg(code), media_type="image/svg+xml", headers=_NO_STORE)


@router.get("/pass-keys", response_model=list[PassKeyPublic], tags=["attendees"])
def pass_keys(db: ReadDbSession) -> list[PassKeyPublic]:
    """Public keys of every pass-signing key (Ed25519, raw 32 bytes in base64), for
    verifying passes offline; public by design."""
    return [_key_public(k) for k in keys.list_keys(db.get_bind())]


def _key_public(k: PassKey) -> PassKeyPublic:
    return PassKeyPublic(kid=k.kid, public_key=k.public_key, created_at=k.created_at,
                         retired_at=k.retired_at, revoked_at=k.revoked_at)


@router.post("/pass-keys/{kid}/revoke", response_model=PassKeyPublic, tags=["attendees"],
             dependencies=[CookieCsrf],
             responses={404: {"description": "pass_key_not_found"},
                        409: {"description": "pass_key_active"}})
def revoke_pass_key(
    kid: Annotated[str, PathParam(max_length=8)], db: DbSession, user: AdminUser,
    settings: SettingsDep,
) -> PassKeyPublic:
    """Revoke a retired pass-signing key (central office): every pass it signed is then
    refused with `pass_key_revoked`. The signing key cannot be: rotate first."""
    db.rollback()  # the key is written in its own short session
    return _key_public(keys.revoke(db.get_bind(), kid=kid, secret_key=settings.secret_key))


