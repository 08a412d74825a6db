"""The attendee's own link to their pass and data: a signed token of the attendee id and
their pass version.

The token carries no name and no expiry: it is a bearer link like the printed pass, and
it dies with the pass (a reissued pass bumps the version: `attendee_link_revoked`). What
it opens beyond the pass itself (everything held about the person, and requests about
it) also needs the personal code printed on the pass, which the link's page never shows.
"""

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from checkin import errors
from checkin.models import Attendee

LINK_SALT = "diemcau.attendee-link"
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class LinkClaims:
    attendee_id: int
    version: int


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=LINK_SALT)


def link_token(attendee: Attendee, *, secret: str) -> str:
    """The token of `attendee`'s personal link (as it is now)."""
    assert attendee.id is not None
    return str(_serializer(secret).dumps({"a": attendee.id, "v": attendee.pass_version}))


def link_path(attendee: Attendee, *, secret: str) -> str:
    """The path of the personal link: /p/{token}."""
    return f"/p/{link_token(attendee, secret=secret)}"


def read_link(token: str, *, secret: str) -> LinkClaims:
    """The claims of a genuine token; `attendee_link_invalid` for anything else (checked
    by its signature alone, before any lookup)."""
    if len(token) > MAX_TOKEN_CHARS:
        raise errors.AttendeeLinkInvalid()
    try:
        data = _serializer(secret).loads(token)
    except BadSignature as exc:
        raise errors.AttendeeLinkInvalid() from exc
    if not isinstance(data, dict):
        raise errors.AttendeeLinkInvalid()
    aid, version = data.get("a"), data.get("v")
    if not isinstance(aid, int) or not isinstance(version, int):
        raise errors.AttendeeLinkInvalid()
    return LinkClaims(attendee_id=aid, version=version)
