"""The site-screen pages: the full-screen display and the pairing form of a projector PC.

Neither needs a login: the display authenticates its websocket with the screen token
kept in the browser, and the pairing form exchanges a short code for that token.
"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/screen", response_class=HTMLResponse)
def screen_page(request: Request) -> Response:
    """The display a site's projector shows in full screen."""
    return render(request, "sessions/screen.html")


@router.get("/screen/pair", response_class=HTMLResponse)
def pair_page(request: Request) -> Response:
    """Type the pairing code the coordinator got on their phone."""
    return render(request, "sessions/screen_pair.html")
