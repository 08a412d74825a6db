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


