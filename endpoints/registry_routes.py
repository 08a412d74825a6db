"""JSON API of the registry itself: sites outside any conference, their history, merges,
retirements and the official-units load. Parse → service → schema."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from app.audit import spool
from app.db import DbSession, ReadDbSession
from app.deps import AdminUser, CookieCsrf, CurrentUser
from app.text import Name, ShortText
from endpoints import registry, service, units
from endpoints.models import (
    RegistrySitePublic,
    Site,
    SiteCreate,
    SiteHistoryPublic,
    SiteKind,
    SiteStatus,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])


class ChangeNote(BaseModel):
    """The decree behind a change and the day it takes effect (both optional)."""

    model_config = ConfigDict(extra="forbid")

    note: ShortText | None = None
    effective_on: date | None = None


class MergeRequest(ChangeNote):
    into_id: int


class RenameRequest(ChangeNote):
    name: Name


class UnitsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: the whole country.
    province_code: int | None = None


class RenamedUnit(BaseModel):
    code: str
    old_name: str
    new_name: str


class UnitsReportPublic(BaseModel):
    province_code: int | None
    created: int
    updated: int
    unchanged: int
    inactive: int
    total: int
    kinds: dict[str, int]
    renamed: list[RenamedUnit]
    seconds: float


def _public(site: Site) -> RegistrySitePublic:
    return RegistrySitePublic.model_validate(site, from_attributes=True)


@router.get("/registry/sites", response_model=list[RegistrySitePublic])
def list_registry_sites(
    response: Response,
    db: ReadDbSession,
    user: CurrentUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: SiteKind | None = None,
    status: SiteStatus | None = None,
    under_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RegistrySitePublic]:
    """Registry sites the user may see, in tree order; the total is in `X-Total-Count`."""
    page = registry.list_registry_sites(db, actor=user, q=q, kind=kind, status=status,
                                        under_id=under_id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(page.total)
    spool.viewed(db, what="site_list", site_id=under_id)  # contacts: personal data
    return [_public(s) for s in page.items]


@router.post("/registry/sites", response_model=RegistrySitePublic, status_code=201,
             dependencies=[CookieCsrf])
def create_registry_site(data: SiteCreate, db: DbSession, user: CurrentUser) -> RegistrySitePublic:
    """Add a site to the registry, outside any conference (a coordinator: below their own)."""
    return _public(service.create_registry_site(db, data=data, actor=user))


@router.get("/registry/sites/{site_id}", response_model=RegistrySitePublic)
def get_registry_site(site_id: int, db: ReadDbSession, user: CurrentUser) -> RegistrySitePublic:
    """One registry site in the user's scope, whatever conference it takes part in."""
    site = service.get_site(db, site_id=site_id, actor=user)
    spool.viewed(db, what="site", object_id=site_id, site_id=site_id)  # contacts
    return _public(site)


@router.get("/sites/{site_id}/history", response_model=list[SiteHistoryPublic])
def site_history(site_id: int, db: ReadDbSession, user: CurrentUser) -> list[SiteHistoryPublic]:
    """Every change of a site (names, codes, places, merges), oldest first."""
    return [SiteHistoryPublic.model_validate(h, from_attributes=True)
            for h in registry.site_history(db, site_id=site_id, actor=user)]


@router.post("/sites/{site_id}/rename", response_model=RegistrySitePublic,
             dependencies=[CookieCsrf])
def rename_site(
    site_id: int, data: RenameRequest, db: DbSession, user: CurrentUser
) -> RegistrySitePublic:
    """Rename a site by decree; conferences not ended show the new name."""
    return _public(registry.rename_site(db, site_id=site_id, name=data.name, actor=user,
                                        note=data.note, effective_on=data.effective_on))


@router.post("/sites/{site_id}/merge", response_model=RegistrySitePublic,
             dependencies=[CookieCsrf])
def merge_site(
    site_id: int, data: MergeRequest, db: DbSession, user: AdminUser
) -> RegistrySitePublic:
    """Merge a site into another: its children, coordinators and screens move there."""
    return _public(registry.merge_site(db, site_id=site_id, into_id=data.into_id, actor=user,
                                       note=data.note, effective_on=data.effective_on))


@router.post("/sites/{site_id}/retire", response_model=RegistrySitePublic,
             dependencies=[CookieCsrf])
def retire_site(
    site_id: int, db: DbSession, user: AdminUser, data: ChangeNote | None = None
) -> RegistrySitePublic:
    """Retire a site with no active site below it and no screen online."""
    data = data or ChangeNote()
    return _public(registry.retire_site(db, site_id=site_id, actor=user, note=data.note,
                                        effective_on=data.effective_on))


@router.post("/sites/{site_id}/restore", response_model=RegistrySitePublic,
             dependencies=[CookieCsrf])
def restore_site(
    site_id: int, db: DbSession, user: AdminUser, data: ChangeNote | None = None
) -> RegistrySitePublic:
    """Make a merged or retired site active again."""
    data = data or ChangeNote()
    return _public(registry.restore_site(db, site_id=site_id, actor=user, note=data.note,
                                         effective_on=data.effective_on))


def report_public(report: units.UnitsReport) -> UnitsReportPublic:
    return UnitsReportPublic(
        province_code=report.province_code, created=report.created, updated=report.updated,
        unchanged=report.unchanged, inactive=report.inactive, total=report.total,
        kinds=report.kinds, seconds=report.seconds,
        renamed=[RenamedUnit(code=c, old_name=o, new_name=n) for c, o, n in report.renamed],
    )


@router.post("/registry/units", response_model=UnitsReportPublic, dependencies=[CookieCsrf])
def load_units(
    db: DbSession, user: AdminUser, data: UnitsRequest | None = None
) -> UnitsReportPublic:
    """Create or update the hub and commune sites of a province (or the whole country) from
    the official list of administrative units; a second run changes nothing."""
    data = data or UnitsRequest()
    return report_public(units.load_units(db, actor=user, province_code=data.province_code))
