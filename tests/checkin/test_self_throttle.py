"""The anonymous self check-in meets 429 long before guessing could find a pass."""

import time
from collections import Counter

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from checkin import qr, service
from checkin.self_throttle import self_attempts
from tests.conftest import Tree, make_settings
from tests.endpoints.support import csrf

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ2345679"


def _site_token(settings: Settings, site_id: int) -> str:
    return qr.sign_site_step(site_id, qr.current_step(time.time()),
                             service.site_qr_secret(settings))


def _guess(i: int) -> str:
    return "".join(LETTERS[(i * 7 + k * 13) % len(LETTERS)] for k in range(8))


def test_a_thousand_guesses_from_one_client_meet_429_early(
    client: TestClient, settings: Settings, tree: Tree
) -> None:
    token = _site_token(settings, tree.ward_a1)
    statuses = []
    for i in range(1000):
        r = client.post("/api/v1/checkins/self", json={"site_token": token, "code": _guess(i)})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["code"] == "too_many_attempts"
            assert int(r.headers["retry-after"]) >= 1
    assert statuses.index(429) <= 11  # ten free misses per client
    tried = Counter(s for s in statuses if s != 429)
    assert sum(tried.values()) <= 16, tried  # the waits double while the guessing goes on


def test_forged_site_tokens_count_against_the_client(client: TestClient, tree: Tree) -> None:
    forged = f"{tree.ward_a1}.{qr.current_step(time.time())}.{'0' * 16}"
    statuses = [client.post("/api/v1/checkins/self",
                            json={"site_token": forged, "code": _guess(i)}).status_code
                for i in range(30)]
    assert 429 in statuses and statuses.index(429) <= 11


def test_many_phones_at_one_site_meet_the_site_window(database_url: str, tree: Tree) -> None:
    settings = make_settings(database_url, self_checkin_misses_per_site=20)
    app = create_app(settings)
    token = _site_token(settings, tree.ward_a1)
    statuses = []
    with TestClient(app):  # runs the lifespan; the phones below share its state
        for i in range(40):
            phone = TestClient(app, client=(f"10.0.{i // 250}.{i % 250}", 5000))
            r = phone.post("/api/v1/checkins/self", json={"site_token": token, "code": _guess(i)})
            statuses.append(r.status_code)
        other_site = TestClient(app, client=("10.9.9.9", 5000)).post(
            "/api/v1/checkins/self",
            json={"site_token": _site_token(settings, tree.ward_b1), "code": _guess(99)})
    assert statuses.index(429) <= 21, statuses  # twenty misses per site, whoever guesses
    assert other_site.status_code == 404  # another site is not affected


def test_a_page_code_counts_against_its_site_like_the_screen_code(settings: Settings) -> None:
    """The self check-in page's longer-lived code must not slip past the per-site rule."""
    page_code = service.page_token(_site_token(settings, 7), settings)
    assert page_code != _site_token(settings, 7)
    subjects = [(rule.name, key) for rule, key in
                self_attempts(settings, client="10.0.0.1", site_token=page_code)]
    assert subjects == [("self-client", "10.0.0.1"), ("self-site", "7")]


def test_the_self_checkin_form_is_throttled_too(
    client: TestClient, settings: Settings, tree: Tree
) -> None:
    token = _site_token(settings, tree.ward_a1)
    statuses = []
    for i in range(30):
        r = client.post(f"/c/{token}", data={"code": _guess(i), "csrf_token": csrf(client)})
        statuses.append(r.status_code)
    assert 429 in statuses and statuses.index(429) <= 11, statuses
    assert int(r.headers["retry-after"]) >= 1
