"""Use cases of the roster: add attendees (one, many, from a file), find them, issue passes.

Attendees are written in bulk: one multi-row INSERT … RETURNING per thousand rows and
the search words of each name alongside. Short codes are random; a clash with an
existing one (about one in 10^6 per attendee at 150,000) fails the unique constraint
and the whole batch is retried with fresh codes — never checked first.
"""

import heapq
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, insert, literal, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.config import Settings
from app.db import utcnow
from app.errors import describe_validation
from app.text import TextError, clean_text, search_key, vi_sort_key
from checkin import errors, keys, qr
from checkin.models import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_LENGTH,
    SORT_KEY_CHARS,
    Attendee,
    AttendeeCreate,
    AttendeeWord,
)
from endpoints import errors as endpoints_errors
from endpoints import importer, imports
from endpoints import service as endpoints_service
from endpoints.models import Conference, Site

Progress = Callable[[int, int], None]
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
INSERT_CHUNK = 1_000
MAX_SEARCH_LIMIT = 100
MAX_ROSTER_ROWS = 300_000
# Query words are weighed by how many name words they match, counted up to this.
COUNT_CAP = 50_000
# A query word expands to at most this many distinct name words ("ng" → nga, ngan, ngoc…).
MAX_EXPANSION = 64
_WORD = re.compile(r"[a-z0-9]+")
_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz"
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


@dataclass(frozen=True)
class _SiteRef:
    id: int
    conference_id: int
    path: str


def _sites(db: Session, ids: Sequence[int]) -> dict[int, _SiteRef]:
    found: dict[int, _SiteRef] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        rows = db.execute(
            sa_select(col(Site.id), col(Site.conference_id), col(Site.path)).where(
                col(Site.id).in_(unique[start : start + 500])
            )
        ).all()
        found.update({r[0]: _SiteRef(r[0], r[1], r[2]) for r in rows})
    return found


def _check_sites(
    db: Session, *, conference_id: int, site_ids: Sequence[int], actor: User
) -> None:
    sites = _sites(db, site_ids)
    root_path = None
    if not accounts_service.is_admin(actor):
        root = db.get(Site, actor.site_id) if actor.site_id else None
        if root is None:
            raise endpoints_errors.SiteOutOfScope()
        root_path = root.path
    for site_id in set(site_ids):
        site = sites.get(site_id)
        if site is None or site.conference_id != conference_id:
            raise endpoints_errors.SiteNotFound(
                f"Không có điểm cầu #{site_id} trong hội nghị này."
            )
        if root_path is not None and not site.path.startswith(root_path):
            raise endpoints_errors.SiteOutOfScope()


def _row(conference_id: int, item: AttendeeCreate, now: datetime) -> dict[str, Any]:
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
    }


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_batch(
    db: Session, conference_id: int, items: Sequence[AttendeeCreate], progress: Progress | None
) -> list[int]:
    """Insert every attendee and their search words; the new ids, in input order."""
    now = utcnow()
    table = Attendee.__table__  # type: ignore[attr-defined]
    word_table = AttendeeWord.__table__  # type: ignore[attr-defined]
    ids: list[int] = []
    for chunk in _chunks(items, INSERT_CHUNK):
        rows = [_row(conference_id, item, now) for item in chunk]
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
        for word_chunk in _chunks(words, INSERT_CHUNK * 3):
            db.execute(insert(word_table), word_chunk)
        ids.extend(new_ids)
        if progress:
            progress(len(ids), len(items))
    return ids


def _write(
    db: Session, conference_id: int, items: Sequence[AttendeeCreate], progress: Progress | None
) -> list[int]:
    for attempt in range(_CODE_ATTEMPTS):
        try:
            ids = _insert_batch(db, conference_id, items, progress)
            db.commit()
            return ids
        except IntegrityError as exc:
            db.rollback()
            # A short-code clash retries with fresh codes; anything else (a site removed
            # meanwhile) fails the same way again and is reported.
            if attempt == _CODE_ATTEMPTS - 1:
                raise endpoints_errors.ImportConflict(
                    "Danh sách vừa bị thay đổi trong lúc ghi (điểm cầu bị xoá?); "
                    "chưa thêm đại biểu nào, vui lòng thử lại."
                ) from exc
    raise AssertionError("unreachable")


def _release(db: Session, objects: Sequence[Attendee]) -> None:
    """End the read transaction (on SQLite a write session holds the lock until then)
    while keeping `objects` usable: detached first, so the rollback does not expire them."""
    for obj in objects:
        if obj in db:
            db.expunge(obj)
    db.rollback()


def _load(db: Session, ids: list[int]) -> list[Attendee]:
    by_id: dict[int, Attendee] = {}
    for chunk in _chunks(ids, 500):
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
) -> list[Attendee]:
    """Add attendees to sites in the actor's scope, all or none; returns them in order.

    `load=False` skips reading the rows back (bulk loads that only need the count).
    """
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if not items:
        return []
    _check_sites(db, conference_id=conference_id, site_ids=[i.site_id for i in items],
                 actor=actor)
    ids = _write(db, conference_id, items, progress)
    if not load:
        return []
    found = _load(db, ids)
    _release(db, found)
    return found


def get_attendee(db: Session, *, attendee_id: int, actor: User) -> Attendee:
    """One attendee (not deleted) of a site in the actor's scope."""
    attendee = db.get(Attendee, attendee_id)
    if attendee is None or attendee.deleted_at is not None:
        raise errors.AttendeeNotFound()
    try:
        endpoints_service.get_site(db, site_id=attendee.site_id, actor=actor)
    except endpoints_errors.SiteOutOfScope as exc:
        raise errors.AttendeeNotFound() from exc
    return attendee


def list_site_attendees(
    db: Session, *, site_id: int, actor: User, limit: int = 20_000
) -> list[Attendee]:
    """The attendees whose home is this site, in Vietnamese order (badge sheets)."""
    endpoints_service.get_site(db, site_id=site_id, actor=actor)
    return list(
        db.exec(
            select(Attendee)
            .where(Attendee.site_id == site_id, col(Attendee.deleted_at).is_(None))
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
            db.commit()
            break
        except IntegrityError:
            db.rollback()
            if attempt == _CODE_ATTEMPTS - 1:
                raise
    db.refresh(attendee)
    return attendee


# ---------------------------------------------------------------- search


def _upper_bound(prefix: str) -> str | None:
    """The first [0-9a-z] string after every string starting with `prefix`."""
    chars = list(prefix)
    while chars:
        last = chars.pop()
        if last != "z":
            return "".join(chars) + _ALNUM[_ALNUM.index(last) + 1]
    return None


def _word_range(conference_id: int, word: str) -> list[ColumnElement[bool]]:
    # A range (not LIKE): it uses the primary-key index under any PostgreSQL collation,
    # since [0-9a-z] strings sort the same in "C" and in language collations.
    conds = [col(AttendeeWord.conference_id) == conference_id, col(AttendeeWord.word) >= word]
    upper = _upper_bound(word)
    if upper is not None:
        conds.append(col(AttendeeWord.word) < upper)
    return conds


def _matches(db: Session, conference_id: int, word: str) -> int:
    """How many name words start with `word`, counted up to COUNT_CAP (an index range)."""
    inner = (
        sa_select(col(AttendeeWord.attendee_id))
        .where(*_word_range(conference_id, word))
        .limit(COUNT_CAP)
        .subquery()
    )
    return int(db.execute(sa_select(func.count()).select_from(inner)).scalar_one())


def _vocabulary(db: Session, conference_id: int, prefix: str) -> list[str]:
    """The distinct words starting with `prefix`, one index seek each (at most MAX_EXPANSION)."""
    upper = _upper_bound(prefix)
    found: list[str] = []
    last: str | None = None
    while len(found) < MAX_EXPANSION:
        conds = [col(AttendeeWord.conference_id) == conference_id]
        conds.append(col(AttendeeWord.word) > last if last is not None
                     else col(AttendeeWord.word) >= prefix)
        if upper is not None:
            conds.append(col(AttendeeWord.word) < upper)
        nxt = db.execute(sa_select(func.min(col(AttendeeWord.word))).where(*conds)).scalar()
        if nxt is None:
            break
        found.append(nxt)
        last = nxt
    return found


def _has_word(word: str) -> ColumnElement[bool]:
    # A row-local test (no correlated subquery): cheap on every row of an index walk.
    # `word` is [0-9a-z] only, so it holds no LIKE wildcard.
    return (literal(" ") + col(Attendee.name_key)).like(f"% {word}%")


def _scope_path(
    db: Session, *, conference_id: int, actor: User, site_id: int | None
) -> str | None:
    if site_id is not None:
        site = endpoints_service.get_site(db, site_id=site_id, actor=actor)
        if site.conference_id != conference_id:
            raise endpoints_errors.SiteNotFound()
        return site.path
    if accounts_service.is_admin(actor):
        return None
    root = db.get(Site, actor.site_id) if actor.site_id else None
    if root is None:
        raise endpoints_errors.SiteOutOfScope()
    return root.path


def search_attendees(
    db: Session,
    *,
    conference_id: int,
    q: str,
    actor: User,
    site_id: int | None = None,
    limit: int = 20,
) -> list[Attendee]:
    """Attendees whose name words start with the query's words (no accents needed, any
    order), or whose short code it is; in Vietnamese order. `site_id` narrows to a
    site and the sites below it; a coordinator sees only their own subtree."""
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    limit = max(1, min(limit, MAX_SEARCH_LIMIT))
    path = _scope_path(db, conference_id=conference_id, actor=actor, site_id=site_id)
    base = select(Attendee).where(
        col(Attendee.conference_id) == conference_id, col(Attendee.deleted_at).is_(None)
    )
    if path is not None:
        base = base.join(Site, col(Site.id) == col(Attendee.site_id)).where(
            col(Site.path).startswith(path)
        )
    found: list[Attendee] = []
    code = normalize_short_code(q)
    if code is not None:
        found.extend(db.exec(base.where(col(Attendee.short_code) == code)).all())
    words = [w[:40] for w in dict.fromkeys(_WORD.findall(search_key(q[:200])))][:5]
    if words:
        # Drive by the query word with the fewest attendees; each word it expands to
        # ("ngu" → nguyen, nguyet) is a list already in Vietnamese order: take the first
        # `limit` of each that also have the other words, then merge.
        counts = {w: _matches(db, conference_id, w) for w in sorted(words, key=len)[-3:]}
        driver = min(counts, key=lambda w: (counts[w], -len(w)))
        others = [_has_word(w) for w in words if w != driver]
        lists = []
        for word in _vocabulary(db, conference_id, driver):
            query = (
                base.join(AttendeeWord, col(AttendeeWord.attendee_id) == col(Attendee.id))
                .where(
                    col(AttendeeWord.conference_id) == conference_id,
                    col(AttendeeWord.word) == word,
                    *others,
                )
                .order_by(col(AttendeeWord.sort_key), col(AttendeeWord.attendee_id))
                .limit(limit)
            )
            lists.append(db.exec(query).all())
        seen = {a.id for a in found}
        for a in heapq.merge(*lists, key=lambda a: (a.sort_key, a.id or 0)):
            if a.id not in seen:
                seen.add(a.id)
                found.append(a)
                if len(found) >= limit:
                    break
    _release(db, found)
    return found[:limit]


def site_names(db: Session, *, site_ids: Sequence[int]) -> dict[int, str]:
    """Names of sites by id (for showing search results and passes)."""
    out: dict[int, str] = {}
    unique = sorted(set(site_ids))
    for chunk in _chunks(unique, 500):
        rows = db.execute(
            sa_select(col(Site.id), col(Site.name)).where(col(Site.id).in_(chunk))
        ).all()
        out.update({r[0]: r[1] for r in rows})
    return out


# ---------------------------------------------------------------- import

COLUMNS = ("full_name", "site_code", "unit", "position", "phone")
COLUMN_LABELS = {
    "full_name": "Họ và tên",
    "site_code": "Mã điểm cầu",
    "unit": "Đơn vị",
    "position": "Chức vụ",
    "phone": "Số điện thoại",
}
_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("full_name", "full name", "ho va ten", "ho ten", "ten", "ten dai bieu",
                  "dai bieu", "name"),
    "site_code": ("site_code", "site code", "ma diem cau", "ma", "diem cau", "ma dc", "site"),
    "unit": ("unit", "don vi", "co quan", "co quan don vi", "noi cong tac"),
    "position": ("position", "chuc vu", "chuc danh"),
    "phone": ("phone", "so dien thoai", "dien thoai", "sdt", "so dt"),
}
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _header_key(value: str) -> str:
    return _NON_WORD.sub(" ", search_key(value)).strip()


_HEADERS = {_header_key(a): c for c, aliases in _HEADER_ALIASES.items() for a in aliases}


@dataclass(frozen=True)
class ImportReport:
    """What an accepted roster import did."""

    created: int
    rows: int
    encoding: str
    warnings: list[str] = field(default_factory=list)
    by_site: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _map_header(header: Sequence[str]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    index: dict[str, int] = {}
    labels: dict[str, str] = {}
    ignored: list[str] = []
    for i, cell in enumerate(header):
        name = _HEADERS.get(_header_key(cell))
        if name is None or name in index:
            if cell.strip():
                ignored.append(cell.strip()[:50])
            continue
        index[name] = i
        labels[name] = cell.strip()
    missing = [c for c in ("full_name", "site_code") if c not in index]
    if missing:
        names = ", ".join(f"{c} ({COLUMN_LABELS[c].lower()})" for c in missing)
        raise endpoints_errors.MissingColumns(
            f"Tệp thiếu cột bắt buộc: {names}. Dòng đầu tiên phải là tiêu đề, ví dụ: "
            "họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại.",
            missing=missing,
        )
    warnings = []
    if ignored:
        warnings.append("Bỏ qua cột không nhận ra: " + ", ".join(f"“{c}”" for c in ignored) + ".")
    return index, labels, warnings


def _symbols(value: str) -> bool:
    """True when a name holds emoji or other pictographs (a pasted chat message)."""
    return any(unicodedata.category(ch) in ("So", "Cs", "Co", "Cn") for ch in value)


@dataclass
class _RowCheck:
    line: int
    raw: dict[str, str]
    labels: dict[str, str]
    problems: list[imports.LineError] = field(default_factory=list)

    def err(self, name: str, code: str, message: str) -> None:
        self.problems.append(
            imports.LineError(self.line, name, code, message, header=self.labels.get(name, ""),
                              value=imports.shown(self.raw.get(name, "")))
        )


def _text_problem(check: _RowCheck, name: str, max_length: int) -> str | None:
    value = check.raw.get(name, "")
    label = COLUMN_LABELS[name]
    try:
        cleaned = clean_text(value, max_length=max_length, field=label)
    except TextError as exc:
        code = "required" if not value.strip() else "too_long"
        if value.strip() and "điều khiển" in str(exc):
            code = "control_chars"
        check.err(name, code, str(exc))
        return None
    if importer.legacy_encoded(cleaned):
        check.err(name, "legacy_encoding", "Chữ gõ bằng bảng mã cũ (TCVN3/VNI); hãy chuyển "
                  "sang Unicode (ví dụ bằng Unikey) rồi nhập lại")
        return None
    return cleaned


def _check_row(
    line: int, cells: list[str], index: dict[str, int], labels: dict[str, str],
    sites: dict[str, int],
) -> tuple[AttendeeCreate | None, str, list[imports.LineError], bool]:
    raw = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
    check = _RowCheck(line, raw, labels)
    full_name = _text_problem(check, "full_name", 200)
    if full_name is not None and _symbols(full_name):
        check.err("full_name", "invalid_characters",
                  "Họ và tên có biểu tượng cảm xúc hoặc ký tự không phải chữ")
    code = raw["site_code"].strip()
    site_id = sites.get(code)
    if not code:
        check.err("site_code", "required", "Thiếu mã điểm cầu")
    elif site_id is None:
        check.err("site_code", "unknown_site",
                  f"Không có điểm cầu mã “{code}” trong hội nghị (hoặc ngoài phạm vi của bạn)")
    payload: dict[str, Any] = {"full_name": full_name or "x", "site_id": site_id or 0}
    for name in ("unit", "position"):
        if raw.get(name, "").strip():
            value = _text_problem(check, name, 200)
            if value is not None:
                payload[name] = value
    fixed = False
    if raw.get("phone", "").strip():
        payload["phone"], fixed = imports._phone(raw["phone"].strip())
    data: AttendeeCreate | None = None
    try:
        data = AttendeeCreate.model_validate(payload)
    except ValidationError as exc:
        for described in describe_validation([dict(e) for e in exc.errors()]):
            name = described["field"] or "full_name"
            if name == "phone":
                check.err("phone", "invalid_phone", "Số điện thoại không hợp lệ")
            elif not any(p.column == name for p in check.problems):
                check.err(name, "invalid_value",
                          f"{COLUMN_LABELS.get(name, name)}: {described['message']}")
    return (None if check.problems else data), code, check.problems, fixed


def _site_codes(db: Session, conference_id: int, path: str | None) -> dict[str, int]:
    query = sa_select(col(Site.code), col(Site.id)).where(
        col(Site.conference_id) == conference_id, col(Site.code).is_not(None)
    )
    if path is not None:
        query = query.where(col(Site.path).startswith(path))
    return {r[0]: r[1] for r in db.execute(query).all()}


def import_attendees(
    db: Session,
    *,
    conference_id: int,
    filename: str,
    data: bytes,
    actor: User,
    progress: Progress | None = None,
    max_bytes: int = imports.DEFAULT_MAX_BYTES,
    max_rows: int = MAX_ROSTER_ROWS,
) -> ImportReport:
    """Import a roster (CSV/XLSX: họ và tên, mã điểm cầu, đơn vị, chức vụ, số điện thoại)
    into sites in the actor's scope; every bad line is reported and nothing is written."""
    clock = time.perf_counter()
    endpoints_service.get_conference(db, conference_id=conference_id, actor=actor)
    if len(data) > max_bytes:
        raise imports.file_too_large(max_bytes)
    table = importer.read_table(data, filename, max_rows=max_rows)
    if not table.header:
        raise endpoints_errors.EmptyImport()
    index, labels, header_warnings = _map_header(table.header)
    warnings = [*table.warnings, *header_warnings]
    if not table.rows:
        raise endpoints_errors.EmptyImport("Tệp chỉ có dòng tiêu đề, không có đại biểu nào.")
    path = _scope_path(db, conference_id=conference_id, actor=actor, site_id=None)
    sites = _site_codes(db, conference_id, path)
    db.rollback()  # nothing written yet: release the lock while rows are checked
    items: list[AttendeeCreate] = []
    problems: list[imports.LineError] = []
    by_site: dict[str, int] = {}
    fixed_phones = 0
    seen: dict[tuple[str, int], int] = {}
    repeated = 0
    for done, (line, cells) in enumerate(table.rows, start=1):
        item, code, errs, fixed = _check_row(line, cells, index, labels, sites)
        problems.extend(errs)
        fixed_phones += fixed
        if item is not None:
            items.append(item)
            by_site[code] = by_site.get(code, 0) + 1
            key = (item.full_name, item.site_id)
            repeated += key in seen
            seen.setdefault(key, line)
        if progress and (done % 1000 == 0 or done == len(table.rows)):
            progress(done, len(table.rows))
    if problems:
        raise _reject(problems, warnings)
    if fixed_phones:
        warnings.append(
            f"Đã thêm số 0 đầu cho {importer.number(fixed_phones)} số điện thoại bị Excel bỏ mất."
        )
    if repeated:
        warnings.append(f"{importer.number(repeated)} dòng trùng họ tên và điểm cầu với dòng "
                        "khác (vẫn nhập, vì có thể là người trùng tên).")
    checked = time.perf_counter()
    _write(db, conference_id, items, progress)
    done_at = time.perf_counter()
    return ImportReport(
        created=len(items),
        rows=len(table.rows),
        encoding=table.encoding,
        warnings=warnings,
        by_site=by_site,
        seconds={
            "check": round(checked - clock, 4),
            "insert": round(done_at - checked, 4),
            "total": round(done_at - clock, 4),
        },
    )


def _reject(
    problems: list[imports.LineError], warnings: list[str]
) -> endpoints_errors.ImportRejected:
    problems.sort(key=lambda p: (p.line, p.column))
    lines = len({p.line for p in problems})
    shown_errors = problems[: imports.MAX_REPORTED_ERRORS]
    detail = (
        f"Tệp có {importer.number(len(problems))} lỗi ở {importer.number(lines)} dòng; "
        "chưa nhập đại biểu nào."
    )
    return endpoints_errors.ImportRejected(
        detail,
        errors=[p.as_dict() for p in shown_errors],
        error_count=len(problems),
        line_count=lines,
        warnings=warnings,
    )
