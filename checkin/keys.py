"""Pass signing keys: stored encrypted, loaded once per process, rotated on demand.

Private keys are kept as Fernet tokens under a key derived (HKDF-SHA256) from the
secret key, so a copied database alone cannot mint passes. The newest unretired key
signs; every key verifies (a rotation does not void printed passes; reissuing a pass
does) until the central office revokes it (`revoke`: its passes are then refused with
`pass_key_revoked`). Each process keeps a key ring per database (per connection pool)
and reloads it when a pass names a key it does not know (a rotation made by another
process, at most every few seconds), every REVOCATION_TTL seconds (a revocation made
by another process) and every few minutes for signing.

Key loading and creation use their own short sessions: call `key_ring` before the
caller's own transaction begins (on SQLite a second writer would wait for the first).
"""

import base64
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.audit import service as audit_service
from app.db import read_only, utcnow
from checkin import errors
from checkin.models import PassKey
from checkin.qr import PassClaims

# Signing picks up a rotation made by another process within this many seconds.
SIGNER_TTL = 300.0
# A flood of passes with made-up key ids reloads the ring at most this often.
UNKNOWN_KID_RELOAD = 5.0
# A key revoked by another process is refused here within this many seconds.
REVOCATION_TTL = 30.0
VERIFIED_MEMO = 200_000


@dataclass(frozen=True)
class KeyRing:
    """Public keys by id, and the key that signs new passes."""

    public: dict[str, Ed25519PublicKey]
    signer_kid: str | None
    signer: Ed25519PrivateKey | None
    loaded_at: float
    # Revoked keys: passes they signed are refused (their signature is still genuine).
    revoked: frozenset[str] = frozenset()
    # Codes whose signature this process already checked (repeat scans skip the check).
    verified: dict[str, PassClaims] = field(default_factory=dict)

    def remember(self, code: str, claims: PassClaims) -> None:
        """Note a verified code; the memo is bounded (cleared when full)."""
        if len(self.verified) >= VERIFIED_MEMO:
            self.verified.clear()
        self.verified[code] = claims


_rings: "weakref.WeakKeyDictionary[Any, KeyRing]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"diemcau", info=b"diemcau.pass-key"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_text(value: str) -> Ed25519PublicKey:
    """The key stored (and published) as base64 of its 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(value))


def _load(bind: Any, secret_key: str, verified: dict[str, PassClaims] | None = None) -> KeyRing:
    # Read-only: on SQLite it takes no write lock, so the caller may hold one.
    with Session(read_only(bind)) as db:
        rows = db.exec(select(PassKey).order_by(col(PassKey.created_at), col(PassKey.kid))).all()
    fernet = _fernet(secret_key)
    public = {r.kid: public_key_from_text(r.public_key) for r in rows}
    revoked = frozenset(r.kid for r in rows if r.revoked_at is not None)
    signer_kid: str | None = None
    signer: Ed25519PrivateKey | None = None
    for row in reversed(rows):
        if row.retired_at is not None or row.revoked_at is not None:
            continue
        try:
            raw = fernet.decrypt(row.private_key.encode())
        except InvalidToken:
            continue  # made under another secret key: it still verifies, it cannot sign
        signer_kid, signer = row.kid, Ed25519PrivateKey.from_private_bytes(raw)
        break
    # Keys are never deleted: signatures checked before stay checked (revocation is
    # applied after the memo, by kid).
    return KeyRing(public=public, signer_kid=signer_kid, signer=signer,
                   loaded_at=time.monotonic(), revoked=revoked,
                   verified=verified if verified is not None else {})


def _next_kid(db: Session) -> str:
    numbers = [
        int(k[1:]) for k in db.exec(select(PassKey.kid)).all() if k[1:].isdigit() and k[0] == "k"
    ]
    return f"k{max(numbers, default=0) + 1}"


def _insert_key(db: Session, secret_key: str) -> str:
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    kid = _next_kid(db)
    insert = sqlite_insert if db.get_bind().dialect.name == "sqlite" else pg_insert
    # Two processes creating the first key at once: one row wins, the other reloads it.
    db.execute(
        insert(PassKey)
        .values(
            kid=kid,
            public_key=base64.b64encode(_raw_public(private.public_key())).decode(),
            private_key=_fernet(secret_key).encrypt(raw).decode(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["kid"])
    )
    # A statement the ORM listener cannot see (the key itself is never logged).
    audit_service.record(db, action="create", object_type="pass_key", object_id=kid)
    return kid


def _store(bind: Any, ring: KeyRing) -> KeyRing:
    with _lock:
        _rings[bind.pool] = ring
    return ring


def key_ring(
    bind: Any, *, secret_key: str, need_signer: bool = False, create: bool = True
) -> KeyRing:
    """The key ring of this database, loaded once per process; with `need_signer` it is
    reloaded every few minutes and (with `create`) a key is made if none can sign."""
    ring = _rings.get(bind.pool)
    if ring is not None and not need_signer:
        if time.monotonic() - ring.loaded_at < REVOCATION_TTL:
            return ring
        return _store(bind, _load(bind, secret_key, ring.verified))
    if (
        ring is not None
        and ring.signer is not None
        and time.monotonic() - ring.loaded_at < SIGNER_TTL
    ):
        return ring
    ring = _load(bind, secret_key, ring.verified if ring is not None else None)
    if need_signer and create and ring.signer is None:
        with Session(bind) as db:
            _insert_key(db, secret_key)
            db.commit()
        ring = _load(bind, secret_key)
    return _store(bind, ring)


def reload_for_unknown_kid(bind: Any, *, secret_key: str) -> KeyRing | None:
    """A fresh ring when a pass names an unknown key (rate-limited); None if too soon."""
    ring = _rings.get(bind.pool)
    if ring is not None and time.monotonic() - ring.loaded_at < UNKNOWN_KID_RELOAD:
        return None
    return _store(bind, _load(bind, secret_key, ring.verified if ring is not None else None))


def forget(bind: Any) -> None:
    """Drop the cached ring of a database (after a rotation, or a test's fresh database)."""
    with _lock:
        _rings.pop(bind.pool, None)


def rotate(bind: Any, *, secret_key: str) -> PassKey:
    """Retire the signing keys and make a new one; passes already printed still verify."""
    with Session(bind, expire_on_commit=False) as db:
        db.execute(
            update(PassKey).where(col(PassKey.retired_at).is_(None)).values(retired_at=utcnow())
        )
        audit_service.record(db, action="retire", object_type="pass_key",
                             detail={"reason": "rotate"})
        kid = _insert_key(db, secret_key)
        db.commit()
        key = db.get(PassKey, kid)
    assert key is not None
    _store(bind, _load(bind, secret_key))
    return key


def revoke(bind: Any, *, kid: str, secret_key: str) -> PassKey:
    """Revoke a retired key (e.g. leaked): every pass it signed is refused with
    `pass_key_revoked`, here at once and in other processes within REVOCATION_TTL.
    The key that signs new passes cannot be revoked: rotate first."""
    with Session(bind, expire_on_commit=False) as db:
        key = db.get(PassKey, kid)
        if key is None:
            raise errors.PassKeyNotFound()
        if key.retired_at is None:
            raise errors.PassKeyActive()
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            db.add(key)
            db.commit()
    old = _rings.get(bind.pool)
    _store(bind, _load(bind, secret_key, old.verified if old is not None else None))
    return key


def list_keys(bind: Any) -> list[PassKey]:
    """Every key, oldest first (public halves are for offline verification)."""
    with Session(read_only(bind), expire_on_commit=False) as db:
        rows = list(db.exec(select(PassKey).order_by(col(PassKey.created_at))).all())
    return rows
