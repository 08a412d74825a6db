"""What a page shows of a conference's follow-along link: the URL, its QR and its end.

The sessions list and a session's page show it to everyone taking part (a coordinator
puts the QR on the wall or reads the link out); only the central office may rotate it.
"""

from datetime import datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.deps import connection_settings
from app.qrimage import qr_svg_inline
from endpoints.models import Conference
from sessions import follow_links
from sessions.models import LOCAL_TZ


def follow_context(request: Request, db: Session, conference: Conference) -> dict[str, Any]:
    """`follow_url`, `follow_qr` (inline SVG) and `follow_ends` (local time) for a page."""
    assert conference.id is not None
    settings = connection_settings(request)
    token = follow_links.current_token(db, conference_id=conference.id,
                                       secret=settings.secret_key)
    url = str(request.url_for("follow_page", token=token))
    ends = follow_links.expires_at(conference, grace_days=settings.follow_grace_days)
    return {"follow_url": url, "follow_qr": qr_svg_inline(url),
            "follow_ends": datetime.fromtimestamp(ends, LOCAL_TZ)}
