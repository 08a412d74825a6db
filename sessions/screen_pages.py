"""The site-screen pages: the full-screen display, its service worker and the pairing form
of a projector PC.

None needs a login: the display authenticates its websocket with the screen token kept
in the browser, and the pairing form exchanges a short code for that token.
"""

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.config import PROJECT_ROOT
from app.templating import render

router = APIRouter(include_in_schema=False)

#: The display's service worker (app/static/screen_sw.js): what a screen shows offline.
SERVICE_WORKER = PROJECT_ROOT / "app" / "static" / "screen_sw.js"
#: Its scope: the display at /screen (a worker at /screen/sw.js may only control /screen/…
#: unless this header allows more); /screen/pair is under it, and passed to the network.
WORKER_SCOPE = "/screen"


@router.get("/screen", response_class=HTMLResponse)
def screen_page(request: Request) -> Response:
    """The display a site's projector shows in full screen."""
    return render(request, "sessions/screen.html")


@router.get("/screen/sw.js")
def screen_worker() -> Response:
    """The display's service worker; revalidated on every check, so an upgrade reaches
    the screens with their next visit."""
    return FileResponse(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": WORKER_SCOPE, "Cache-Control": "no-cache"},
    )


@router.get("/screen/pair", response_class=HTMLResponse)
def pair_page(request: Request) -> Response:
    """Type the pairing code the coordinator got on their phone."""
    return render(request, "sessions/screen_pair.html")
