"""Form posts of the registry pages under random input: never a server error.

Hypothesis fills the login, invite-registration and site-edit forms with long strings,
control characters, NUL, emoji, decomposed (NFD) Vietnamese and huge numbers, on SQLite
and PostgreSQL; every answer must be a page (2xx/3xx) or a refusal (4xx).
"""

import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.main import create_app
from tests.conftest import ADMIN_PASSWORD, Tree, token_for
from tests.endpoints.support import csrf

NFD_NAMES = [unicodedata.normalize("NFD", s) for s in ("Nguyễn Thị Ánh", "Đảng ủy xã Cần Giờ")]

# Text a browser can send (no surrogates): any code point, control characters included.
_ANY = st.text(st.characters(codec="utf-8"), max_size=60)
VALUE = st.one_of(
    _ANY,
    st.text(st.characters(codec="utf-8"), min_size=190, max_size=2100),
    st.sampled_from(
        ["", " ", "\x00", "a\x00b", "\t\n", "\u202e", "😀" * 30, "%00", "0", "-1", *NFD_NAMES]
    ),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["central", "hub", "ward", "commune", "other", "ready", "1", "2"]),
)
SITE_FIELDS = (
    "name", "kind", "parent_id", "parent_other", "code", "room", "contact_name",
    "contact_phone", "expected_attendees", "connection_link", "readiness", "readiness_note",
)
REGISTRATION_FIELDS = (
    "site_name", "kind", "room", "expected_attendees", "connection_link", "full_name",
    "phone", "username", "password", "password_confirm", "accept_notice", "notice_version",
)
VALID_REGISTRATION = {
    "site_name": st.just("Đảng ủy phường Sài Gòn"),
    "kind": st.just("ward"),
    "full_name": st.just("Trần Văn Bình"),
    "phone": st.just("0912 345 678"),
    "username": st.from_regex(r"[a-z]{4,16}", fullmatch=True),
    "password": st.just("sg-password-1"),
    "password_confirm": st.just("sg-password-1"),
    "accept_notice": st.just("1"),
    "notice_version": st.just("1"),
}
VALID_SITE = {"name": st.just("Điểm cầu Thủ Đức"), "kind": st.just("ward")}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _form(
    fields: tuple[str, ...], valid: dict[str, st.SearchStrategy[str]] | None = None
) -> st.SearchStrategy[dict[str, str]]:
    """Some of `fields` with hostile values; or a valid form with a few fields made hostile
    (so the input gets past the first check and reaches the service and the database)."""
    hostile = st.fixed_dictionaries({}, optional={f: VALUE for f in fields})
    if valid is None:
        return hostile
    return st.one_of(
        hostile,
        st.tuples(st.fixed_dictionaries(valid), hostile.map(lambda d: dict(list(d.items())[:2])))
        .map(lambda pair: {**pair[0], **pair[1]}),
    )


@pytest.fixture
def app_client(settings: Settings, tree: Tree) -> Iterator[TestClient]:
    """A client with the CSRF cookie, on a database holding the `tree` conference."""
    with TestClient(create_app(settings)) as client:
        client.get("/login")
        yield client


def _post(client: TestClient, path: str, data: dict[str, str]) -> int:
    data = {**data, "csrf_token": csrf(client)}
    status: int = client.post(path, data=data, follow_redirects=False).status_code
    assert status < 500, (path, data)
    return status


def test_login_form_never_fails_on_random_input(app_client: TestClient) -> None:
    @FUZZ
    @given(
        form=_form(
            ("username", "password", "next"),
            {"username": st.just("admin"), "password": st.just(ADMIN_PASSWORD)},
        )
    )
    def check(form: dict[str, str]) -> None:
        status = _post(app_client, "/login", form)
        assert status in (303, 401, 422, 429)

    check()


def test_invite_form_never_fails_on_random_input(app_client: TestClient, tree: Tree) -> None:
    headers = token_for(app_client, "admin", ADMIN_PASSWORD)

    @FUZZ
    @given(form=_form(REGISTRATION_FIELDS, VALID_REGISTRATION), fresh=st.booleans(), token=_ANY)
    def check(form: dict[str, str], fresh: bool, token: str) -> None:
        if fresh:
            r = app_client.post(
                f"/api/v1/conferences/{tree.cid}/invites", json={}, headers=headers
            )
            assert r.status_code == 201, r.text
            token = r.json()["token"]
        status = _post(app_client, f"/invite/{quote(token, safe='')}", form)
        assert 200 <= status < 500

    check()


def test_site_edit_form_never_fails_on_random_input(app_client: TestClient, tree: Tree) -> None:
    r = app_client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD,
              "csrf_token": csrf(app_client)},
        follow_redirects=False,
    )
    assert r.status_code == 303

    @FUZZ
    @given(
        form=_form(SITE_FIELDS, VALID_SITE),
        site_id=st.one_of(
            st.sampled_from([tree.hub_a, tree.ward_a1, tree.central]),
            st.integers(min_value=-(2**70), max_value=2**70),
        ),
    )
    def check(form: dict[str, str], site_id: int) -> None:
        status = _post(app_client, f"/sites/{site_id}", form)
        assert status in (200, 303, 400, 403, 404, 409, 422)

    check()
