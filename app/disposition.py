"""`Content-Disposition: attachment` headers whose file name is safe whatever it holds.

A file name built from a site name may contain quotes, semicolons, CR/LF, slashes or
Vietnamese letters. RFC 6266: `filename="…"` carries an ASCII-only fallback (accents
dropped, anything outside letters, digits and `._-` turned into `-`), and
`filename*=UTF-8''…` carries the real name percent-encoded (RFC 8187), which every
current browser prefers. Control characters and path separators never reach either.
"""

import re
import unicodedata
from urllib.parse import quote

from app.text import nfc

MAX_NAME = 150  # characters of the stem kept; long names are cut before the extension
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")
_DASHES = re.compile(r"-{2,}")
_DROPPED = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")  # control, format, separators, unassigned
# RFC 8187 attr-char: letters, digits and these marks travel unencoded.
_ATTR_SAFE = "!#$&+-.^_`|~"


def _clean(name: str) -> str:
    """NFC, control and format characters removed, path separators and spaces made dashes."""
    text = "".join(ch for ch in nfc(name) if unicodedata.category(ch) not in _DROPPED)
    text = re.sub(r"[\s/\\]+", "-", text).strip(" .-")
    return text


def _split(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 8 and ext.isascii() and ext.isalnum():
        return stem, "." + ext
    return name, ""


def ascii_fallback(name: str) -> str:
    """An ASCII file name: "Hà Nội; \\"x\\".csv" → "Ha-Noi-x.csv"."""
    stem, ext = _split(_clean(name))
    decomposed = unicodedata.normalize("NFKD", stem.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _DASHES.sub("-", _UNSAFE_ASCII.sub("-", plain)).strip("-.")[:MAX_NAME]
    return (plain or "download") + ext


def attachment(filename: str) -> dict[str, str]:
    """The `Content-Disposition` header (as a dict for a response) to download `filename`."""
    stem, ext = _split(_clean(filename))
    full = (stem[:MAX_NAME] or "download") + ext
    encoded = quote(full, safe=_ATTR_SAFE, encoding="utf-8")
    value = f"attachment; filename=\"{ascii_fallback(full)}\"; filename*=UTF-8''{encoded}"
    return {"Content-Disposition": value}
