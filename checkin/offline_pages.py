"""The check-in desk as an installed web app: its service worker and its manifest.

The service worker (app/static/checkin_sw.js, served at /checkin-sw.js with the scope
/sites/) keeps the scanner and headcount pages and their own static files, so a desk
opens them with no network; it never stores an API answer. Its version is a hash of
itself and of the files it keeps, so a deploy that changes one of them replaces it.
The manifest is public (a browser fetches it without the login cookie) and names
nothing but the site's id.
"""

import hashlib
import json
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.config import PROJECT_ROOT

router = APIRouter(include_in_schema=False)

SW_PATH = "/checkin-sw.js"
SW_SCOPE = "/sites/"
STATIC = PROJECT_ROOT / "app" / "static"
# What the scanner and headcount pages load (tests/checkin/test_offline_pages.py checks
# the pages against it): kept by the service worker at install.
SHELL_ASSETS = (
    "/static/app.css",
    "/static/checkin.css",
    "/static/confirm.js",
    "/static/offline.js",
    "/static/offline_sync.js",
    "/static/checkin.js",
    "/static/headcount.js",
    "/static/desk_readiness.js",
    "/static/favicon.svg",
    "/static/favicon-32.png",
    "/static/apple-touch-icon.png",
)


@lru_cache(maxsize=1)
def service_worker_source() -> str:
    """The service worker with its file list and version filled in (read once)."""
    source = (STATIC / "checkin_sw.js").read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode())
    for asset in SHELL_ASSETS:
        digest.update((STATIC / asset.removeprefix("/static/")).read_bytes())
    return (source.replace("__VERSION__", digest.hexdigest()[:16])
            .replace("__ASSETS__", json.dumps(list(SHELL_ASSETS))))


@router.get(SW_PATH)
def service_worker() -> Response:
    """The desk's service worker; checked for updates on every page load (no-cache)."""
    return Response(
        service_worker_source(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": SW_SCOPE},
    )


@router.get("/checkin.webmanifest")
def manifest(site_id: Annotated[int, Query(ge=1, lt=2**31)]) -> Response:
    """The manifest that lets a coordinator install a site's check-in desk."""
    body = {
        "name": "diemcau · Điểm danh",
        "short_name": "Điểm danh",
        "lang": "vi",
        "start_url": f"/sites/{site_id}/checkin",
        "scope": SW_SCOPE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "icons": [
            {"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "/static/apple-touch-icon.png", "sizes": "180x180", "type": "image/png"},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"Cache-Control": "public, max-age=3600"})
