"""Pass codes and rotating site codes: sign and verify, pure (no database, no clock of its own).

A pass code is `DC1` + base32 (RFC 4648, upper case, no padding) of a small binary
payload and its Ed25519 signature. Only ids travel, never a name or a phone number:

    byte 0      format (1)
    byte 1      length n of the key id (1-8), then n ASCII bytes of the key id
    >I >I >H >I conference id, attendee id, pass version, expiry (unix seconds)
    64 bytes    Ed25519 signature of b"diemcau.pass" + everything above

With the key id "k1" a code is 135 characters, all in the QR "alphanumeric" set, so
the QR stays small. Anyone with the public keys (`GET /api/v1/pass-keys`) can
verify a pass offline.

A site code (the QR on a site's screen, for self check-in) is
`{site_id}.{step}.{mac}`: an HMAC-SHA256 of site and time step (20 s), cut to 80
bits; a step is accepted only during its own window and the next one.

The self check-in page opened from that QR keeps a page code of the same shape, for the
same site and step but under another HMAC label: it is accepted for PAGE_STEPS steps, so
an attendee can take minutes to type their pass code (the screen's code lasts 20-40 s).
"""

import base64
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from checkin.errors import (
    PassBadSignature,
    PassExpired,
    PassMalformed,
    PassUnknownKey,
    SiteQrExpired,
    SiteQrInvalid,
)

PREFIX = "DC1"
FORMAT = 1
# Checked before any decoding: a 10 KB paste costs nothing.
MAX_CODE_CHARS = 200
SIGNATURE_BYTES = 64
_DOMAIN = b"diemcau.pass"
_BODY = struct.Struct(">IIHI")
_KID = re.compile(r"^[a-z0-9]{1,8}$")
_U32 = 0xFFFF_FFFF
STEP_SECONDS = 20
# A self check-in page's code is accepted until 18 steps after its QR's step ends (6 min
# 20 s after the QR appeared): opened at worst 40 s in, the attendee still has 5 min 40 s
# to find the badge, type 8 letters and retry once after a dropped connection. It stays
# short so a forwarded page is dead long before the next session; the throttle bounds
# guessing however long the window.
PAGE_STEPS = 18
_PAGE_LABEL = "site-page"
_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_TEXT = re.compile(f"[{_B32_ALPHABET}]+")
_B32_DIGITS = str.maketrans(_B32_ALPHABET, "0123456789abcdefghijklmnopqrstuv")
_SITE_MAC_BYTES = 10


@dataclass(frozen=True)
class PassClaims:
    """What a pass says: whose it is, which key signed it, until when it is valid."""

    kid: str
    conference_id: int
    attendee_id: int
    version: int
    expires_at: int  # unix seconds


def _payload(claims: PassClaims) -> bytes:
    if not _KID.match(claims.kid):
        raise ValueError("key id must be 1-8 characters a-z, 0-9")
    for name, value, top in (
        ("conference_id", claims.conference_id, _U32),
        ("attendee_id", claims.attendee_id, _U32),
        ("version", claims.version, 0xFFFF),
        ("expires_at", claims.expires_at, _U32),
    ):
        if not 0 <= value <= top:
            raise ValueError(f"{name} out of range: {value}")
    kid = claims.kid.encode("ascii")
    return (
        bytes((FORMAT, len(kid)))
        + kid
        + _BODY.pack(claims.conference_id, claims.attendee_id, claims.version, claims.expires_at)
    )


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def sign_pass(claims: PassClaims, private_key: Ed25519PrivateKey) -> str:
    """The code a pass's QR encodes: `DC1` + base32(payload + Ed25519 signature)."""
    payload = _payload(claims)
    return PREFIX + _b32(payload + private_key.sign(_DOMAIN + payload))


def _decode(code: str) -> bytes:
    text = code.strip(" \t\r\n")
    # All upper (as printed) or all lower (a wedge scanner with Caps Lock on); a
    # mixed-case code is damaged, not a variant.
    if text != text.upper() and text != text.lower():
        raise PassMalformed()
    text = text.upper()
    if not text.startswith(PREFIX):
        raise PassMalformed()
    body = text[len(PREFIX) :]
    if not body:
        raise PassMalformed()
    # base32 read as one base-32 number (C speed; base64.b32decode loops in Python and
    # was 5% of a scan): each letter becomes int()'s digit of the same value.
    if not _B32_TEXT.fullmatch(body) or len(body) % 8 in (1, 3, 6):
        raise PassMalformed()
    size, spare = divmod(5 * len(body), 8)
    value = int(body.translate(_B32_DIGITS), 32)
    # Unused trailing bits must be zero: exactly one spelling per pass.
    if value & ((1 << spare) - 1):
        raise PassMalformed()
    return (value >> spare).to_bytes(size, "big")


def looks_like_pass(code: str) -> bool:
    """True when `code` is meant as a signed pass (not a short code)."""
    return code.strip(" \t\r\n")[: len(PREFIX)].upper() == PREFIX and len(code.strip()) > 12


def verify_pass(code: str, public_keys: Mapping[str, Ed25519PublicKey], now: int) -> PassClaims:
    """The claims of a genuine, unexpired pass; a typed error for anything else."""
    if len(code) > MAX_CODE_CHARS:
        raise PassMalformed()
    raw = _decode(code)
    if len(raw) < 2 or raw[0] != FORMAT:
        raise PassMalformed()
    kid_len = raw[1]
    body_end = 2 + kid_len + _BODY.size
    if not 1 <= kid_len <= 8 or len(raw) != body_end + SIGNATURE_BYTES:
        raise PassMalformed()
    try:
        kid = raw[2 : 2 + kid_len].decode("ascii")
    except UnicodeDecodeError as exc:
        raise PassMalformed() from exc
    if not _KID.match(kid):
        raise PassMalformed()
    key = public_keys.get(kid)
    if key is None:
        raise PassUnknownKey()
    payload, signature = raw[:body_end], raw[body_end:]
    try:
        key.verify(signature, _DOMAIN + payload)
    except InvalidSignature as exc:
        raise PassBadSignature() from exc
    conference_id, attendee_id, version, expires_at = _BODY.unpack(raw[2 + kid_len : body_end])
    if expires_at <= now:
        raise PassExpired()
    return PassClaims(
        kid=kid,
        conference_id=conference_id,
        attendee_id=attendee_id,
        version=version,
        expires_at=expires_at,
    )


# ------------------------------------------------------------ site codes


def current_step(now: float, step_seconds: int = STEP_SECONDS) -> int:
    """The time step `now` falls in."""
    return int(now // step_seconds)


def _site_mac(site_id: int, step: int, secret: bytes, label: str = "site") -> str:
    mac = hmac.new(secret, f"{label}:{site_id}:{step}".encode(), hashlib.sha256).digest()
    return _b32(mac[:_SITE_MAC_BYTES]).lower()


def sign_site_step(site_id: int, step: int, secret: bytes) -> str:
    """The token a site screen shows during `step`."""
    return f"{site_id}.{step}.{_site_mac(site_id, step, secret)}"


def _small_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise SiteQrInvalid()
    return int(text)


def sign_site_page(site_id: int, step: int, secret: bytes) -> str:
    """The code a self check-in page opened during `step` keeps for its form."""
    return f"{site_id}.{step}.{_site_mac(site_id, step, secret, _PAGE_LABEL)}"


def _parse_site_code(token: str) -> tuple[int, int, str]:
    if len(token) > 64:
        raise SiteQrInvalid()
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise SiteQrInvalid()
    return _small_int(parts[0]), _small_int(parts[1]), parts[2].lower()


def _check_window(step: int, now: float, steps: int, step_seconds: int) -> None:
    now_step = current_step(now, step_seconds)
    if step > now_step:
        raise SiteQrInvalid()
    if step < now_step - steps:
        raise SiteQrExpired()




@dataclass(frozen=True)
class SiteStep:
    """A verified site code: its site, its step, and whether a screen showed it."""

    site_id: int
    step: int
    from_screen: bool


def verify_site_or_page(
    token: str, secret: bytes, now: float, step_seconds: int = STEP_SECONDS
) -> SiteStep:
    """A screen's code (this step or the previous one) or a self check-in page's code
    (PAGE_STEPS steps); either names one site, and a code for one site fits no other."""
    site_id, step, mac = _parse_site_code(token)
    if hmac.compare_digest(mac, _site_mac(site_id, step, secret)):
        _check_window(step, now, 1, step_seconds)
        return SiteStep(site_id, step, from_screen=True)
    if hmac.compare_digest(mac, _site_mac(site_id, step, secret, _PAGE_LABEL)):
        _check_window(step, now, PAGE_STEPS, step_seconds)
        return SiteStep(site_id, step, from_screen=False)
    raise SiteQrInvalid()


def verify_site_step(
    token: str, secret: bytes, now: float, step_seconds: int = STEP_SECONDS
) -> int:
    """The site a screen's token names, if genuine and shown in this step or the previous
    one; a page code is refused here."""
    found = verify_site_or_page(token, secret, now, step_seconds)
    if not found.from_screen:
        raise SiteQrInvalid()
    return found.site_id
