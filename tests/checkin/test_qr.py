"""Pass format and rotating site codes: round trip, tampering, garbage, no personal data."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from checkin import errors, qr

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
KEYS = {"k1": KEY.public_key()}
NOW = 1_800_000_000

claims_st = st.builds(
    qr.PassClaims,
    kid=st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    conference_id=st.integers(0, 2**32 - 1),
    attendee_id=st.integers(0, 2**32 - 1),
    version=st.integers(0, 2**16 - 1),
    expires_at=st.integers(NOW + 1, 2**32 - 1),
)


def _sample() -> tuple[qr.PassClaims, str]:
    claims = qr.PassClaims(kid="k1", conference_id=7, attendee_id=123_456, version=1,
                           expires_at=NOW + 86_400)
    return claims, qr.sign_pass(claims, KEY)


@given(claims_st)
@settings(max_examples=200, deadline=None)
def test_verify_round_trip_any_claims(claims: qr.PassClaims) -> None:
    code = qr.sign_pass(claims, KEY)
    assert qr.verify_pass(code, {claims.kid: KEY.public_key()}, NOW) == claims
    assert len(code) <= qr.MAX_CODE_CHARS
    assert set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") | set("DC1")


def test_sign_code_is_short_and_qr_alphanumeric() -> None:
    _, code = _sample()
    assert code.startswith("DC1")
    assert len(code) == 135
    assert code == code.upper()


def test_verify_accepts_all_lowercase_caps_lock_scan() -> None:
    claims, code = _sample()
    assert qr.verify_pass(code.lower(), KEYS, NOW) == claims
    assert qr.verify_pass(f"  {code}\r\n", KEYS, NOW) == claims


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_verify_refuses_any_single_bit_flip_of_the_bytes(data: st.DataObject) -> None:
    _, code = _sample()
    raw = bytearray(base64.b32decode(code[3:] + "=" * (-len(code[3:]) % 8)))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    forged = "DC1" + base64.b32encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(errors.PassError):
        qr.verify_pass(forged, KEYS, NOW)


def test_verify_refuses_every_single_bit_flip_of_the_text() -> None:
    _, code = _sample()
    for i, ch in enumerate(code):
        for bit in range(8):
            flipped = chr(ord(ch) ^ (1 << bit))
            forged = code[:i] + flipped + code[i + 1 :]
            with pytest.raises(errors.PassError):
                qr.verify_pass(forged, KEYS, NOW)


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_verify_garbage_raises_typed_error_only(text: str) -> None:
    with pytest.raises(errors.PassError):
        qr.verify_pass(text, KEYS, NOW)


@given(st.binary(min_size=0, max_size=120))
@settings(max_examples=300, deadline=None)
def test_verify_random_base32_bodies_refused(raw: bytes) -> None:
    code = "DC1" + base64.b32encode(raw).decode().rstrip("=")
    with pytest.raises(errors.PassError):
        qr.verify_pass(code, KEYS, NOW)


def test_verify_truncated_code_malformed() -> None:
    _, code = _sample()
    for cut in (3, 10, 50, 100, len(code) - 1):
        with pytest.raises(errors.PassMalformed):
            qr.verify_pass(code[:cut], KEYS, NOW)


def test_verify_oversized_code_malformed_before_decoding() -> None:
    _, code = _sample()
    with pytest.raises(errors.PassMalformed):
        qr.verify_pass(code + "A" * 10_000, KEYS, NOW)
    with pytest.raises(errors.PassMalformed):
        qr.verify_pass("DC1" + "\u0000" * 10_240, KEYS, NOW)


def test_verify_other_key_bad_signature() -> None:
    claims, _ = _sample()
    forged = qr.sign_pass(claims, OTHER)
    with pytest.raises(errors.PassBadSignature):
        qr.verify_pass(forged, KEYS, NOW)


def test_verify_unknown_kid() -> None:
    claims, _ = _sample()
    code = qr.sign_pass(qr.PassClaims("k9", 7, 1, 1, NOW + 10), KEY)
    with pytest.raises(errors.PassUnknownKey):
        qr.verify_pass(code, KEYS, NOW)
    assert claims.kid == "k1"


def test_verify_expired() -> None:
    code = qr.sign_pass(qr.PassClaims("k1", 7, 1, 1, NOW), KEY)
    with pytest.raises(errors.PassExpired):
        qr.verify_pass(code, KEYS, NOW)
    assert qr.verify_pass(code, KEYS, NOW - 1).attendee_id == 1


def test_verify_mixed_case_malformed() -> None:
    _, code = _sample()
    with pytest.raises(errors.PassMalformed):
        qr.verify_pass(code[:10] + code[10:].lower(), KEYS, NOW)


def test_sign_payload_holds_only_ids_kid_version_expiry() -> None:
    claims, code = _sample()
    raw = base64.b32decode(code[3:] + "=" * (-len(code[3:]) % 8))
    payload = raw[:-64]
    # format, kid length, kid, then exactly four integers: nothing else fits.
    assert payload == bytes([1, 2]) + b"k1" + (7).to_bytes(4, "big") + (123_456).to_bytes(
        4, "big") + (1).to_bytes(2, "big") + claims.expires_at.to_bytes(4, "big")


def test_sign_out_of_range_claims_refused() -> None:
    with pytest.raises(ValueError):
        qr.sign_pass(qr.PassClaims("K1", 1, 1, 1, NOW), KEY)
    with pytest.raises(ValueError):
        qr.sign_pass(qr.PassClaims("k1", 1, 2**32, 1, NOW), KEY)


# ------------------------------------------------------------------ site codes

SECRET = b"s" * 32


def test_site_step_current_and_previous_accepted() -> None:
    now = 1_000_000.0
    step = qr.current_step(now)
    assert qr.verify_site_step(qr.sign_site_step(42, step, SECRET), SECRET, now) == 42
    assert qr.verify_site_step(qr.sign_site_step(42, step - 1, SECRET), SECRET, now) == 42


def test_site_step_older_expired() -> None:
    now = 1_000_000.0
    token = qr.sign_site_step(42, qr.current_step(now) - 2, SECRET)
    with pytest.raises(errors.SiteQrExpired):
        qr.verify_site_step(token, SECRET, now)


def test_site_step_window_is_its_step_plus_one() -> None:
    start = 20 * 50_000.0
    token = qr.sign_site_step(5, qr.current_step(start), SECRET)
    assert qr.verify_site_step(token, SECRET, start + 39.9) == 5
    with pytest.raises(errors.SiteQrExpired):
        qr.verify_site_step(token, SECRET, start + 40.0)


def test_site_step_future_forged_or_other_site_invalid() -> None:
    now = 1_000_000.0
    step = qr.current_step(now)
    with pytest.raises(errors.SiteQrInvalid):
        qr.verify_site_step(qr.sign_site_step(42, step + 1, SECRET), SECRET, now)
    token = qr.sign_site_step(42, step, SECRET)
    with pytest.raises(errors.SiteQrInvalid):
        qr.verify_site_step(token.replace("42.", "43.", 1), SECRET, now)
    with pytest.raises(errors.SiteQrInvalid):
        qr.verify_site_step(qr.sign_site_step(42, step, b"other" * 8), SECRET, now)


def test_page_code_lasts_minutes_where_the_screen_code_lasts_seconds() -> None:
    start = 20 * 50_000.0
    step = qr.current_step(start)
    page = qr.sign_site_page(5, step, SECRET)
    assert qr.verify_site_or_page(page, SECRET, start + 60) == qr.SiteStep(5, step, False)
    last = start + (qr.PAGE_STEPS + 1) * qr.STEP_SECONDS
    assert qr.verify_site_or_page(page, SECRET, last - 0.1).site_id == 5
    with pytest.raises(errors.SiteQrExpired):
        qr.verify_site_or_page(page, SECRET, last)
    screen = qr.sign_site_step(5, step, SECRET)
    assert qr.verify_site_or_page(screen, SECRET, start + 39.9) == qr.SiteStep(5, step, True)
    with pytest.raises(errors.SiteQrExpired):  # the screen's own code keeps its 40 s
        qr.verify_site_or_page(screen, SECRET, start + 40.0)


def test_page_code_is_bound_to_its_site_and_is_no_screen_code() -> None:
    now = 1_000_000.0
    step = qr.current_step(now)
    page = qr.sign_site_page(42, step, SECRET)
    with pytest.raises(errors.SiteQrInvalid):
        qr.verify_site_or_page(page.replace("42.", "43.", 1), SECRET, now)
    with pytest.raises(errors.SiteQrInvalid):
        qr.verify_site_or_page(qr.sign_site_page(42, step, b"other" * 8), SECRET, now)
    with pytest.raises(errors.SiteQrInvalid):  # a page code never opens a page as a QR would
        qr.verify_site_step(page, SECRET, now)
    with pytest.raises(errors.SiteQrInvalid):
        qr.verify_site_or_page(qr.sign_site_page(42, step + 1, SECRET), SECRET, now)


@given(st.text(max_size=100))
@settings(max_examples=200, deadline=None)
def test_site_step_garbage_invalid(text: str) -> None:
    with pytest.raises((errors.SiteQrInvalid, errors.SiteQrExpired)):
        qr.verify_site_step(text, SECRET, 1_000_000.0)
