"""Pass-signing keys: rotation, reload after rotation elsewhere, encrypted storage."""

import time

import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.config import Settings
from checkin import keys, qr, service
from tests.checkin.support import Roster, code_for
from tests.conftest import Tree

# ------------------------------------------------------------------ keys


def test_rotate_key_old_passes_still_verify_new_ones_use_new_kid(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    old = code_for(wdb, roster.an, settings)
    key = keys.rotate(wdb.get_bind(), secret_key=settings.secret_key)
    new = code_for(wdb, roster.binh, settings)
    assert key.kid == "k2"
    assert (
        qr.verify_pass(
            new, {key.kid: keys.public_key_from_text(key.public_key)}, int(time.time())
        ).kid
        == "k2"
    )
    assert (
        service.check_in(wdb, code=old, site_id=tree.ward_a1, actor=admin, settings=settings).status
        == "checked_in"
    )
    assert (
        service.check_in(wdb, code=new, site_id=tree.ward_a1, actor=admin, settings=settings).status
        == "checked_in"
    )


def test_key_ring_reloads_on_unknown_kid_after_rotation_elsewhere(
    wdb: Session,
    roster: Roster,
    tree: Tree,
    admin: User,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.db import create_db_engine

    code_for(wdb, roster.an, settings)  # this process has loaded its ring
    other = create_db_engine(settings.database_url, pool_size=1)
    keys.rotate(other, secret_key=settings.secret_key)  # "another process" rotates
    other.dispose()
    monkeypatch.setattr(keys, "UNKNOWN_KID_RELOAD", 0.0)
    monkeypatch.setattr(keys, "SIGNER_TTL", 0.0)
    code = code_for(wdb, roster.binh, settings)
    assert (
        service.check_in(
            wdb, code=code, site_id=tree.ward_a1, actor=admin, settings=settings
        ).status
        == "checked_in"
    )


def test_private_key_stored_encrypted(wdb: Session, roster: Roster, settings: Settings) -> None:
    from checkin.models import PassKey

    code_for(wdb, roster.an, settings)
    stored = wdb.exec(select(PassKey)).one()
    assert stored.private_key.startswith("gAAAA")  # a Fernet token, not raw key bytes
    assert settings.secret_key not in stored.private_key




# ------------------------------------------------------------- revocation


def test_revoked_key_passes_are_refused_with_a_clear_code(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings
) -> None:
    from checkin import errors

    old = code_for(wdb, roster.an, settings)  # signed by k1
    service.check_in(wdb, code=old, site_id=tree.ward_a1, actor=admin, settings=settings)
    keys.rotate(wdb.get_bind(), secret_key=settings.secret_key)
    new = code_for(wdb, roster.binh, settings)  # signed by k2
    wdb.commit()  # free the write lock for the revocation's own session
    revoked = keys.revoke(wdb.get_bind(), kid="k1", secret_key=settings.secret_key)
    assert revoked.revoked_at is not None
    # Refused even though this process checked (and memoised) the signature before.
    with pytest.raises(errors.PassKeyRevoked) as info:
        service.check_in(wdb, code=old, site_id=tree.ward_a1, actor=admin, settings=settings)
    assert (info.value.code, info.value.status_code) == ("pass_key_revoked", 410)
    ok = service.check_in(wdb, code=new, site_id=tree.ward_a1, actor=admin, settings=settings)
    assert ok.status == "checked_in"


def test_signing_or_unknown_key_cannot_be_revoked(
    wdb: Session, roster: Roster, settings: Settings
) -> None:
    from checkin import errors

    code_for(wdb, roster.an, settings)
    wdb.commit()
    with pytest.raises(errors.PassKeyActive):
        keys.revoke(wdb.get_bind(), kid="k1", secret_key=settings.secret_key)
    with pytest.raises(errors.PassKeyNotFound):
        keys.revoke(wdb.get_bind(), kid="k9", secret_key=settings.secret_key)


def test_revocation_elsewhere_is_seen_within_the_ttl(
    wdb: Session, roster: Roster, tree: Tree, admin: User, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.db import create_db_engine
    from checkin import errors

    old = code_for(wdb, roster.an, settings)
    keys.rotate(wdb.get_bind(), secret_key=settings.secret_key)
    assert service.check_in(wdb, code=old, site_id=tree.ward_a1, actor=admin,
                            settings=settings).first
    wdb.commit()
    other = create_db_engine(settings.database_url, pool_size=1)
    keys.revoke(other, kid="k1", secret_key=settings.secret_key)  # "another process"
    other.dispose()
    monkeypatch.setattr(keys, "REVOCATION_TTL", 0.0)
    with pytest.raises(errors.PassKeyRevoked):
        service.check_in(wdb, code=old, site_id=tree.ward_a1, actor=admin, settings=settings)
