"""What a new password must be: long, not the username, not a well-known one."""

from app.accounts import errors

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 200

# The first guesses of any attacker (international and Vietnamese lists), 10+ characters
# only since shorter ones are refused anyway. Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "0123456789", "1234567890", "12345678910", "123456789a", "1234567890a",
        "0987654321", "1111111111", "0000000000", "1234512345", "1q2w3e4r5t",
        "qwertyuiop", "qwerty1234", "qwerty12345", "asdfghjkl1", "zxcvbnm123",
        "password12", "password123", "password1234", "passw0rd123", "iloveyou12",
        "iloveyou123", "abc1234567", "abcd123456", "abcdefghij", "aaaaaaaaaa",
        "administrator", "admin12345", "admin123456", "adminadmin", "welcome123",
        "matkhau123", "matkhau1234", "matkhaumoi", "matkhau@123", "anhyeuem123",
        "emyeuanh123", "vietnam123", "vietnam1234", "hanoi12345", "saigon1234",
        "hochiminh1", "hoinghi123", "hoinghi2025", "hoinghi2026", "diemcau123",
        "diemcau2026", "changeme123", "letmein123", "dev-secret-change-me",
    }
)


def check_new_password(password: str, *, username: str) -> None:
    """Refuse a weak new password with a stable code and a Vietnamese reason."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise errors.PasswordTooShort()
    if len(password) > MAX_PASSWORD_CHARS:
        raise errors.PasswordTooLong()
    folded = password.strip().casefold()
    if folded == username.strip().casefold():
        raise errors.PasswordIsUsername()
    if folded in COMMON_PASSWORDS:
        raise errors.PasswordTooCommon()
