"""The short answer link of a site: `/a/<code>`, shown as a QR and typed from a screen.

The code names the site and is signed, so an anonymous answer counts for the site whose
screen the phone read, and nobody can make answers count for another site by editing the
link: `<site id>-<6 characters of HMAC>` (30 bits: guessing is throttled like every
anonymous surface). No database and no expiry: the page finds the form open at the site.
"""

import base64
import hashlib
import hmac
import re

from app.config import Settings

_CODE = re.compile(r"^([1-9][0-9]{0,9})-([A-Z2-7]{6})$")


def _mac(site_id: int, settings: Settings) -> str:
    key = hmac.new(settings.secret_key.encode(), b"diemcau.answer-site", hashlib.sha256).digest()
    digest = hmac.new(key, str(site_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:6]


def site_answer_code(site_id: int, settings: Settings) -> str:
    """The short code of a site's answer link."""
    return f"{site_id}-{_mac(site_id, settings)}"


def site_from_answer_code(code: str, settings: Settings) -> int | None:
    """The site a code names, or None when it is malformed or not ours."""
    found = _CODE.match(code.strip().upper())
    if found is None:
        return None
    site_id = int(found.group(1))
    return site_id if hmac.compare_digest(found.group(2), _mac(site_id, settings)) else None
