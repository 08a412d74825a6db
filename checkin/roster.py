"""Use cases of the roster: add attendees (one or many), look them up, issue passes.

Name search lives in `checkin.search`, the file import in `checkin.roster_import`.

Attendees are written in bulk: one multi-row INSERT … RETURNING per thousand rows and
the search words of each name alongside. Short codes are random; a clash with an
existing one (about one in 10^6 per attendee at 150,000) fails the unique constraint
and the whole batch is retried with fresh codes — never checked first.
"""

import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.audit import service as audit
from app.config import Settings
from app.db import utcnow
from app.tabular import errors as tabular_errors
from app.text import search_key, vi_sort_key
from checkin import errors, keys, qr
from checkin import sites as checkin_sites
from checkin.basis import DEFAULT_BASIS, Basis
from checkin.models import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_LENGTH,
    SORT_KEY_CHARS,
    Attendee,
    AttendeeCreate,
    AttendeeWord,
)
from endpoints import errors as endpoints_errors
from endpoints import service as endpoints_service
from endpoints.models import Conference, Site

Progress = Callable[[int, int], None]
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
INSERT_CHUNK = 1_000
_WORD = re.compile(r"[a-z0-9]+")
_CODE_ATTEMPTS = 4


# ------------------------------------------------------------------ keys


def sort_key(full_name: str) -> str:
    """Hex digits of the Vietnamese sort key: the same order under any database collation."""
    primary, tones = vi_sort_key(full_name[:SORT_KEY_CHARS])
    # Ranks are stored +1 so that "0000" ends the primary part below any letter.
    return (
        "".join(f"{min(p + 1, 0xFFFF):04x}" for p in primary)
        + "0000"
        + "".join(f"{t:x}" for t in tones)
    )


def name_words(full_name: str) -> list[str]:
    """The distinct search words of a name: "Nguyễn Thị Đào" → nguyen, thi, dao."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(search_key(full_name)):
        seen.setdefault(word[:40])
    return list(seen)[:20]


def new_short_code() -> str:
    """Eight characters without 0/O, 1/I/L: read off a badge and typed by hand."""
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def normalize_short_code(code: str) -> str | None:
    """"abcd-efgh", "ABCD EFGH" → "ABCDEFGH"; None when it cannot be a short code."""
    if len(code) > 20:
        return None
    compact = code.strip().upper().replace("-", "").replace(" ", "")
    if len(compact) != SHORT_CODE_LENGTH or any(c not in SHORT_CODE_ALPHABET for c in compact):
        return None
    return compact


def format_short_code(code: str) -> str:
    """As printed: "ABCD-EFGH"."""
    return f"{code[:4]}-{code[4:]}"


# ---------------------------------------------------------------- passes


def pass_expiry(conference: Conference, settings: Settings, *, now: datetime | None = None) -> int:
    """Unix time a pass stops working: `pass_valid_days` after the later of the
    conference's last day and the day of issue (day-granular, so a pass is stable)."""
    today = (now or utcnow()).astimezone(LOCAL_TZ).date()
    last = max(conference.ends_on, today)
    end = datetime.combine(last + timedelta(days=1), dtime(), tzinfo=LOCAL_TZ)
    return int((end + timedelta(days=settings.pass_valid_days)).astimezone(UTC).timestamp())


def issue_pass(db: Session, *, attendee: Attendee, settings: Settings) -> str:
    """The code an attendee's QR encodes (ids, key id, version and expiry; no name)."""
    if attendee.deleted_at is not None:
        raise errors.AttendeeNotFound()
    if attendee.revoked:
        raise errors.PassRevoked()
    conference = db.get(Conference, attendee.conference_id)
    if conference is None:
        raise errors.AttendeeNotFound()
    bind = db.get_bind()
    ring = keys.key_ring(bind, secret_key=settings.secret_key, need_signer=True, create=False)
    if ring.signer is None:
        # The first pass of a new database makes the key in its own transaction; on
        # SQLite it would wait for this session's write lock, so end this one first.
        db.commit()
        ring = keys.key_ring(bind, secret_key=settings.secret_key, need_signer=True)
    assert ring.signer is not None and ring.signer_kid is not None and attendee.id is not None
    claims = qr.PassClaims(
        kid=ring.signer_kid,
        conference_id=attendee.conference_id,
        attendee_id=attendee.id,
        version=attendee.pass_version,
        expires_at=pass_expiry(conference, settings),
    )
    return qr.sign_pass(claims, ring.signer)


# ------------------------------------------------------------ write path


def _check_sites(
    db: Session, *, conference_id: int, site_ids: Sequence[int], actor: User
) -> None:
    """Every site must take part in the conference and be in the actor's scope."""
    paths = checkin_sites.participants(db, conference_id=conference_id, site_ids=site_ids)
    root_path = None
    if not accounts_service.is_admin(actor):
        root = db.get(Site, actor.site_id) if actor.site_id else None
        if root is None:
            raise endpoints_errors.SiteOutOfScope()
        root_path = root.path
    for site_id in set(site_ids):
        path = paths.get(site_id)
        if path is None:
            raise endpoints_errors.SiteNotFound(
                f"Không có điểm cầu #{site_id} trong hội nghị này."
            )
        if root_path is not None and not path.startswith(root_path):
            raise endpoints_errors.SiteOutOfScope()


@dataclass(frozen=True)
class Supply:
    """Who supplied a batch of attendees, on which basis (checkin.basis), and how it is
    logged: "import" (a file) or "create" (the API, by hand)."""

    basis: Basis
    supplied_by_id: int | None
    action: str = "import"


def _row(
    conference_id: int, item: AttendeeCreate, now: datetime, supply: Supply
) -> dict[str, Any]:
    return {
        "conference_id": conference_id,
        "site_id": item.site_id,
        "full_name": item.full_name,
        "name_key": search_key(item.full_name)[:200],
        "sort_key": sort_key(item.full_name),
        "unit": item.unit,
        "position": item.position,
        "phone": item.phone,
        "short_code": new_short_code(),
        "pass_version": 1,
        "revoked": False,
        "deleted_at": None,
        "created_at": now,
        "basis": supply.basis,
        "supplied_by_id": supply.supplied_by_id,
        "supplied_at": now,
    }


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_batch(
    db: Session, conference_id: int, items: Sequence[AttendeeCreate], supply: Supply,
    progress: Progress | None,
) -> list[int]:
    """Insert every attendee and their search words; the new ids, in input order."""
    now = utcnow()
    table = Attendee.__table__  # type: ignore[attr-defined]
    word_table = AttendeeWord.__table__  # type: ignore[attr-defined]
    ids: list[int] = []
    for chunk in chunks(items, INSERT_CHUNK):
        rows = [_row(conference_id, item, now, supply) for item in chunk]
        # A repeated code inside one chunk would fail the insert; redraw it here.
        seen: set[str] = set()
        for r in rows:
            while r["short_code"] in seen:
                r["short_code"] = new_short_code()
            seen.add(r["short_code"])
        result = db.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        new_ids = [int(i) for i in result.scalars().all()]
        words = [
            {"conference_id": conference_id, "word": w, "sort_key": row["sort_key"],
             "attendee_id": new_id}
            for new_id, item, row in zip(new_ids, chunk, rows, strict=True)
            for w in name_words(item.full_name)
        ]
        for word_chunk in chunks(words, INSERT_CHUNK * 3):
            db.execute(insert(word_table), word_chunk)
        ids.extend(new_ids)
        if progress:
            progress(len(ids), len(items))
    return ids


def write_attendees(
    db: Session, *, conference_id: int, items: Sequence[AttendeeCreate], supply: Supply,
    progress: Progress | None = None,
) -> list[int]:
    """Insert attendees (sites already checked) with who supplied them and on which basis,
    and commit; their ids, in input order. The rows are written by bulk statements the
    audit listener does not see, so the batch is logged here as one entry."""
    for attempt in range(_CODE_ATTEMPTS):
        try:
            ids = _insert_batch(db, conference_id, items, supply, progress)
            audit.record(
                db, action=supply.action, object_type="attendee", conference_id=conference_id,
                detail={"count": len(ids), "basis": supply.basis,
                        "sites": sorted({item.site_id for item in items})},
            )
            db.commit()
            return ids
        except IntegrityError as exc:
            db.rollback()
            # A short-code clash retries with fresh codes; anything else (a site removed
            # meanwhile) fails the same way again and is reported.
            if attempt == _CODE_ATTEMPTS - 1:
                raise tabular_errors.ImportConflict(
                    "Danh sách vừa bị thay đổi trong lúc ghi (điểm cầu bị xoá?); "
                    "chưa thêm đại biểu nào, vui lòng thử lại."
                ) from exc
    raise AssertionError("unreachable")


def release(db: Session, objects: Sequence[Attendee]) -> None:
    """End the read transaction, keeping `objects` usable (detached, so not expired)."""
    # On SQLite a write session holds the lock until its transaction ends.
    for obj in objects:
        if obj in db:
            db.expunge(obj)
    db.rollback()


def _load(db: Session, ids: list[int]) -> list[Attendee]:
    by_id: dict[int, Attendee] = {}
    for chunk in chunks(ids, 500):
        for a in db.exec(select(Attendee).where(col(Attendee.id).in_(chunk))).all():
            assert a.id is not None
            by_id[a.id] = a
    return [by_id[i] for i in ids]


def create_attendees(
    db: Session,
    *,
    conference_id: int,
    items: list[AttendeeCreate],
    actor: User,
    progress: Progress | None = None,
    load: bool = True,
    basis: Basis = DEFAULT_BASIS,
) -> list[Attendee]:
    """Add attendees to sites in the actor's scope, all or none, recording the actor as
    who supplied them and `basis`; returns them in order.

    `load=False` skips reading the rows back (bulk loads that only need the count).
    """
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if not items:
        return []
    _check_sites(db, conference_id=conference_id, site_ids=[i.site_id for i in items],
                 actor=actor)
    ids = write_attendees(db, conference_id=conference_id, items=items, progress=progress,
                          supply=Supply(basis=basis, supplied_by_id=actor.id, action="create"))
    if not load:
        return []
    found = _load(db, ids)
    release(db, found)
    return found


def get_attendee(
    db: Session, *, attendee_id: int, actor: User, deleted_too: bool = False
) -> Attendee:
    """One attendee of a site in the actor's scope (`attendee_not_found` otherwise); one
    taken off the roster only with `deleted_too` (their data is still held)."""
    attendee = db.get(Attendee, attendee_id)
    if attendee is None or (attendee.deleted_at is not None and not deleted_too):
        raise errors.AttendeeNotFound()
    try:
        endpoints_service.get_site(db, site_id=attendee.site_id, actor=actor)
    except endpoints_errors.SiteOutOfScope as exc:
        raise errors.AttendeeNotFound() from exc
    return attendee


def list_site_attendees(
    db: Session, *, conference_id: int, site_id: int, actor: User, limit: int = 20_000
) -> list[Attendee]:
    """The attendees of a conference whose home is this site, in Vietnamese order (badge
    sheets)."""
    endpoints_service.get_site(db, site_id=site_id, actor=actor)
    return list(
        db.exec(
            select(Attendee)
            .where(Attendee.site_id == site_id, Attendee.conference_id == conference_id,
                   col(Attendee.deleted_at).is_(None))
            .order_by(col(Attendee.sort_key), col(Attendee.id))
            .limit(max(1, limit))
        ).all()
    )


def delete_attendee(db: Session, *, attendee_id: int, actor: User) -> Attendee:
    """Take an attendee off the roster (kept for history; their pass stops working)."""
    attendee = get_attendee(db, attendee_id=attendee_id, actor=actor)
    attendee.deleted_at = utcnow()
    db.add(attendee)
    db.commit()
    return attendee


def reissue_pass(db: Session, *, attendee_id: int, actor: User) -> Attendee:
    """A new pass and short code for an attendee; every earlier pass is refused from now on."""
    attendee = get_attendee(db, attendee_id=attendee_id, actor=actor)
    for attempt in range(_CODE_ATTEMPTS):
        try:
            db.execute(
                update(Attendee)
                .where(col(Attendee.id) == attendee_id)
                .values(
                    pass_version=col(Attendee.pass_version) + 1,
                    short_code=new_short_code(),
                    revoked=False,
                )
            )
            # A statement: the log is told (the new code itself is not kept).
            audit.record(
                db, action="reissue_pass", object_type="attendee", object_id=attendee_id,
                conference_id=attendee.conference_id, site_id=attendee.site_id)
            db.commit()
            break
        except IntegrityError:
            db.rollback()
            if attempt == _CODE_ATTEMPTS - 1:
                raise
    db.refresh(attendee)
    return attendee


def scope_path(
    db: Session, *, conference_id: int, actor: User, site_id: int | None
) -> str | None:
    """The site path an actor's roster query is limited to (None: the whole conference)."""
    if site_id is not None:
        site = endpoints_service.get_site_in(
            db, conference_id=conference_id, site_id=site_id, actor=actor
        )
        return str(site.path)
    if accounts_service.is_admin(actor):
        return None
    root = db.get(Site, actor.site_id) if actor.site_id else None
    if root is None:
        raise endpoints_errors.SiteOutOfScope()
    return root.path


def site_names(db: Session, *, conference_id: int, site_ids: Sequence[int]) -> dict[int, str]:
    """Names of sites by id as the conference knew them (search results and passes)."""
    return endpoints_service.names_in(db, conference_id=conference_id, site_ids=site_ids)
