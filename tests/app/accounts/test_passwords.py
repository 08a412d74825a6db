"""The new-password policy: 10+ characters, not the username, not a common password."""

import pytest

from app.accounts import errors
from app.accounts.passwords import COMMON_PASSWORDS, check_new_password


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("ngan-qua", errors.PasswordTooShort),
        ("123456789", errors.PasswordTooShort),
        ("x" * 201, errors.PasswordTooLong),
        ("nguyenvana", errors.PasswordIsUsername),
        ("NguyenVanA", errors.PasswordIsUsername),
        ("matkhau123", errors.PasswordTooCommon),
        ("Password123", errors.PasswordTooCommon),
        ("1234567890", errors.PasswordTooCommon),
    ],
)
def test_weak_passwords_are_refused_with_a_code(password: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        check_new_password(password, username="nguyenvana")
    assert info.value.code.startswith("password_")  # type: ignore[attr-defined]
    assert info.value.detail  # type: ignore[attr-defined]


def test_a_long_uncommon_password_passes() -> None:
    check_new_password("cau-truyen-hinh-2026", username="nguyenvana")


def test_the_common_list_holds_only_passwords_long_enough_to_reach_it() -> None:
    assert COMMON_PASSWORDS and all(len(p) >= 10 and p == p.casefold() for p in COMMON_PASSWORDS)


@pytest.mark.real_argon2
def test_new_hashes_use_the_one_lane_owasp_profile_and_old_ones_still_verify() -> None:
    """One lane and 19 MiB: a wrong-password flood keeps a core free for check-ins."""
    from argon2 import PasswordHasher

    from app.security import hash_password, verify_password

    assert "$m=19456,t=2,p=1$" in hash_password("mat-khau-dai-du")
    old = PasswordHasher().hash("mat-khau-cu")  # argon2-cffi's default profile
    assert verify_password("mat-khau-cu", old) and not verify_password("sai", old)
