"""Passwords (argon2), signed login tokens, cookie names and login-bound CSRF tokens."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# OWASP's argon2id profile (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's default
# (64 MiB, 3 passes, 4 lanes): about 6x cheaper, and one lane keeps a check on one core,
# so a flood of wrong passwords cannot take both cores from the check-ins. Hashes made
# with the old profile still verify (the parameters travel in each hash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A real hash of a random password: verifying against it costs as much as a real check,
# so a login for an unknown user takes as long as one for a known user.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# Base cookie names; read and write them through `cookie_name` (production prefixes `__Host-`).
SESSION_COOKIE = "diemcau_session"
# A random value for visitors without a login: it binds the CSRF token of the anonymous
# forms (login, registration, self check-in), so login CSRF needs it too.
ANON_COOKIE = "diemcau_anon"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# `__Host-` cookies are only accepted with Secure, path / and no Domain: a sibling
# subdomain (or a plain-http man in the middle) cannot plant or overwrite them.
HOST_PREFIX = "__Host-"


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; constant work whether or not the user exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    version: int


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="diemcau.access")


def create_access_token(*, secret: str, user_id: int, version: int) -> str:
    """A signed, timestamped token naming the user and their token version."""
    return _serializer(secret).dumps({"u": user_id, "v": version})


def read_access_token(*, secret: str, token: str, max_age_seconds: int) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age_seconds)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    uid, ver = data.get("u"), data.get("v")
    if not isinstance(uid, int) or not isinstance(ver, int):
        return None
    return TokenClaims(user_id=uid, version=ver)


def cookie_name(base: str, *, secure: bool) -> str:
    """The name a cookie is set and read under: `__Host-`-prefixed when Secure."""
    return HOST_PREFIX + base if secure else base


def new_anon_value() -> str:
    """A random value for the anonymous visitor cookie."""
    return secrets.token_urlsafe(32)


def csrf_token_for(*, secret: str, binding: str) -> str:
    """The CSRF token bound to `binding` (the login cookie's token, else the anonymous
    cookie): an HMAC, so it cannot be derived without the secret and changes with every
    login; it is never itself a cookie."""
    mac = hmac.new(secret.encode(), b"diemcau.csrf\x00" + binding.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def csrf_matches(expected: str | None, submitted: str | None) -> bool:
    """True when a token was expected and the submitted one equals it (constant time)."""
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def new_invite_token() -> tuple[str, str]:
    """A random invite token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 of a random token (enough: the token itself has 192 bits of entropy)."""
    return hashlib.sha256(token.encode()).hexdigest()


def origin_allowed(
    origin: str | None, *, host: str | None, scheme: str, allowed: list[str]
) -> bool:
    """Websocket Origin check (CORS does not cover handshakes).

    A browser always sends Origin; it must be this server itself or a listed origin.
    Clients without Origin (scanners, scripts) are not browsers and cannot be hijacked
    across sites, so they pass and rely on their token alone.
    """
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    if host is None:
        return False
    http_scheme = "https" if scheme in ("wss", "https") else "http"
    return origin in (f"{http_scheme}://{host}", f"https://{host}")
