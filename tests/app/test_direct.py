"""The shortcut for the busiest POST routes: which requests it takes, and the replay of a
body it hands on."""

from typing import Any

import pytest

from app.direct import DirectPosts, replay

pytestmark = pytest.mark.anyio


async def _call(app: DirectPosts, method: str, path: str) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)
    await app({"type": "http", "method": method, "path": path}, receive, send)
    return sent


async def test_only_posts_to_a_listed_path_take_the_shortcut() -> None:
    async def declared(scope: Any, receive: Any, send: Any) -> None:
        await send(("declared", scope["path"]))

    async def direct(scope: Any, receive: Any, send: Any, app: Any) -> None:
        await send(("direct", scope["path_params"]))

    app = DirectPosts(declared, routes=[(r"/api/v1/forms/(?P<form_id>[0-9]+)/answers",
                                         direct)])
    assert await _call(app, "POST", "/api/v1/forms/12/answers") == [
        ("direct", {"form_id": "12"})]
    assert await _call(app, "GET", "/api/v1/forms/12/answers") == [
        ("declared", "/api/v1/forms/12/answers")]
    assert await _call(app, "POST", "/api/v1/forms/12/answers/x") == [
        ("declared", "/api/v1/forms/12/answers/x")]
    assert await _call(app, "POST", "/api/v1/forms/x/answers") == [
        ("declared", "/api/v1/forms/x/answers")]


async def test_a_handed_on_body_is_given_again_then_the_stream_goes_on() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}
    again = replay(b'{"nonce": 1}', receive)
    assert await again() == {"type": "http.request", "body": b'{"nonce": 1}',
                             "more_body": False}
    assert await again() == {"type": "http.disconnect"}
