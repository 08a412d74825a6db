"""Who may call what, on every route of the app (HTTP and websocket), for every role.

The matrix (tests/endpoints/access_matrix.py, one line a route) is checked against the
app's route table: a route without a line, or a line without a route, fails
`test_every_route_has_a_line`. `test_route_answers_each_role` then calls every route as
the central office, the hub coordinator whose subtree holds the target site, the
coordinator of another subtree, a paired screen and nobody, on one seeded world per
module (SQLite only; the queries behind each check run on both backends in their own
tests). Below it, the site routes' scope is checked against several sites outside the
subtree and for the sites inside it.
"""

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import User
from app.main import create_app
from tests.conftest import Tree, make_settings, token_for
from tests.endpoints.access_matrix import MATRIX, ROLES, Route, Rule
from tests.endpoints.matrix_world import SECRETS, World, app_routes, call, world

Case = tuple[str, str, Callable[[Tree], dict[str, Any]] | None]

_WARD = {"name": "Xã mới", "kind": "commune"}

# method, path template, JSON body builder. {site} is filled with a site in or out of scope.
CASES: list[Case] = [
    ("GET", "/api/v1/sites/{site}", None),
    ("PATCH", "/api/v1/sites/{site}", lambda t: {"room": "Phòng 1"}),
    ("DELETE", "/api/v1/sites/{site}", None),
    (
        "POST",
        "/api/v1/sites/{site}/coordinators",
        lambda t: {"username": "newcoord", "password": "password-123", "full_name": "Ngô Văn C"},
    ),
    ("POST", "/api/v1/sites/{site}/approve", None),
    ("POST", "/api/v1/sites/{site}/reject", None),
    ("POST", "/api/v1/conferences/{conference}/sites", lambda t: {**_WARD, "parent_id": "{site}"}),
    ("POST", "/api/v1/conferences/{conference}/invites", lambda t: {"parent_site_id": "{site}"}),
    ("GET", "/api/v1/conferences/{conference}/sites?under_id={site}", None),
    ("POST", "/api/v1/sites/{site}/screen-token", None),
    ("POST", "/api/v1/sites/{site}/pairing-code", None),
    ("GET", "/api/v1/sites/{site}/screens", None),
    ("GET", "/api/v1/sites/{site}/headcounts", None),
    ("POST", "/api/v1/sites/{site}/headcounts", lambda t: {"counts": {"dai_bieu": 5}}),
    ("GET", "/api/v1/sites/{site}/presence", None),
    ("GET", "/api/v1/sites/{site}/self-checkin-qr", None),
    ("GET", "/api/v1/sites/{site}/self-checkin-qr.svg", None),
    (
        "POST",
        "/api/v1/sites/{site}/connection-test",
        lambda t: {"picture": True, "sound": True, "link": True},
    ),
    ("POST", "/api/v1/sites/{site}/incidents", lambda t: {"reason": "Mất tiếng"}),
    ("GET", "/api/v1/conferences/{conference}/dashboard/sites?under_id={site}", None),
    # The registry: a coordinator keeps their subtree across conferences.
    ("GET", "/api/v1/registry/sites/{site}", None),
    ("POST", "/api/v1/registry/sites", lambda t: {**_WARD, "parent_id": "{site}"}),
    ("GET", "/api/v1/registry/sites?under_id={site}", None),
    ("GET", "/api/v1/sites/{site}/history", None),
    ("POST", "/api/v1/sites/{site}/rename", lambda t: {"name": "Tên mới theo nghị quyết"}),
    # Central office only: refused whatever the site.
    ("POST", "/api/v1/sites/{site}/merge", lambda t: {"into_id": t.central}),
    ("POST", "/api/v1/sites/{site}/retire", lambda t: {}),
    ("POST", "/api/v1/sites/{site}/restore", lambda t: {}),
    ("DELETE", "/api/v1/conferences/{conference}/sites/{site}", None),
]
# Routes that name sites but are admin-only as a whole (no site in the path to scope by).
# The matrix holds every route; these lists give the site routes' deeper scope checks.
ADMIN_ONLY = {
    ("GET", "/api/v1/conferences/{conference_id}/registrations"),
    ("GET", "/api/v1/conferences/{conference_id}/invites"),
    ("POST", "/api/v1/conferences/{conference_id}/sites/import"),
}
# The site list itself is scoped by filtering (tested in test_service); listed so it is covered.
FILTERED = {("GET", "/api/v1/conferences/{conference_id}/sites")}



@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    """One seeded world for every line of the matrix (each line costs a few requests)."""
    folder = tmp_path_factory.mktemp("matrix")
    shutil.copy(sqlite_template, folder / "matrix.db")
    settings = make_settings(f"sqlite:///{folder / 'matrix.db'}", data_dir=folder / "var")
    with TestClient(create_app(settings)) as client:
        yield from world(client)


def test_every_route_has_a_line(matrix: World) -> None:
    routes = app_routes(matrix.client.app)
    assert len(routes) > 100  # the walk itself works (routers nested, websockets found)
    missing = sorted(routes - MATRIX.keys())
    assert not missing, f"routes without a line in tests/endpoints/access_matrix.py: {missing}"
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"lines of tests/endpoints/access_matrix.py without a route: {stale}"


def _allowed(rule: Rule, status: int) -> bool:
    return status not in (401, 403) and (status < 400 or status in rule.ok)


def _leaked(rule: Rule, role: str, text: str) -> list[str]:
    """What of hub A's subtree an answer to another subtree shows (lists are filtered)."""
    filtered = rule.cells["anon"] is not None  # a public answer is the same for all
    return [s for s in SECRETS.get(role, ()) if s in text] if filtered else []


@pytest.mark.parametrize("route", list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_route_answers_each_role(matrix: World, route: Route) -> None:
    rule = MATRIX[route]
    wrong = []
    for role in ROLES:
        expected = rule.cells[role]
        got = call(matrix, route, rule, role)
        if expected is None and not _allowed(rule, got.status):
            wrong.append(f"{role}: expected to be let in, got {got}")
        elif expected is None and _leaked(rule, role, got.text):
            wrong.append(f"{role}: let in, but shown {_leaked(rule, role, got.text)}")
        elif expected is not None and not expected.matches(got.status, got.code):
            wrong.append(f"{role}: expected {expected}, got {got}")
    assert not wrong, f"{route[0]} {route[1]}: " + "; ".join(wrong)


def _fill(value: Any, site: int, conference: int) -> Any:
    if isinstance(value, str):
        filled = value.replace("{site}", str(site)).replace("{conference}", str(conference))
        return int(filled) if value == "{site}" else filled
    if isinstance(value, dict):
        return {k: _fill(v, site, conference) for k, v in value.items()}
    return value


def _call(client: TestClient, case: Case, tree: Tree, site: int, headers: dict[str, str]) -> Any:
    method, path, body = case
    url = _fill(path, site, tree.cid)
    payload = _fill(body(tree), site, tree.cid) if body else None
    return client.request(method, url, json=payload, headers=headers)


def _normalise(path: str) -> str:
    return (
        path.split("?")[0].replace("{site}", "{site_id}").replace("{conference}", "{conference_id}")
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_coordinator_is_refused_outside_subtree(
    client: TestClient, tree: Tree, coordinator_a: User, case: Case
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    for outside in (tree.hub_b, tree.ward_b1, tree.central):
        r = _call(client, case, tree, outside, headers)
        assert r.status_code == 403, (outside, r.text)
        assert r.json()["code"] in {"site_out_of_scope", "admin_only"}
    # Nothing outside the subtree changed.
    admin = token_for(client, "admin", "admin-test-password")
    r = client.get(f"/api/v1/sites/{tree.ward_b1}", headers=admin)
    assert r.status_code == 200 and r.json()["room"] is None


READS_AND_CHANGES = [
    c
    for c in CASES
    if c[1]
    in {
        "/api/v1/sites/{site}",
        "/api/v1/conferences/{conference}/sites",
        "/api/v1/conferences/{conference}/invites",
        "/api/v1/conferences/{conference}/sites?under_id={site}",
        "/api/v1/sites/{site}/screen-token",
        "/api/v1/sites/{site}/pairing-code",
        "/api/v1/sites/{site}/screens",
        "/api/v1/sites/{site}/headcounts",
        "/api/v1/sites/{site}/presence",
        "/api/v1/sites/{site}/self-checkin-qr",
        "/api/v1/sites/{site}/self-checkin-qr.svg",
        "/api/v1/sites/{site}/connection-test",
        "/api/v1/sites/{site}/incidents",
        "/api/v1/conferences/{conference}/dashboard/sites?under_id={site}",
        "/api/v1/registry/sites/{site}",
        "/api/v1/registry/sites",
        "/api/v1/registry/sites?under_id={site}",
        "/api/v1/sites/{site}/history",
        "/api/v1/sites/{site}/rename",
    }
    and c[0] != "DELETE"
]


@pytest.mark.parametrize(
    "case", READS_AND_CHANGES, ids=[f"{m} {p}" for m, p, _ in READS_AND_CHANGES]
)
def test_coordinator_is_allowed_inside_subtree(
    client: TestClient, tree: Tree, coordinator_a: User, case: Case
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    for inside in (tree.hub_a, tree.ward_a1):
        r = _call(client, case, tree, inside, headers)
        assert r.status_code in (200, 201), (inside, r.text)


def test_coordinator_list_shows_only_subtree(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    r = client.get(f"/api/v1/conferences/{tree.cid}/sites", headers=headers)
    assert r.status_code == 200
    assert {s["id"] for s in r.json()} == {tree.hub_a, tree.ward_a1, tree.ward_a2}


@pytest.mark.parametrize(
    "route", sorted(ADMIN_ONLY), ids=[f"{m} {p}" for m, p in sorted(ADMIN_ONLY)]
)
def test_coordinator_is_refused_admin_only_site_routes(
    client: TestClient, tree: Tree, coordinator_a: User, route: tuple[str, str]
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    method, path = route
    url = path.replace("{conference_id}", str(tree.cid))
    files = {"file": ("sites.csv", b"code,name,kind\nX1,Xa moi,commune\n", "text/csv")}
    r = client.request(method, url, headers=headers, files=files if method == "POST" else None)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "admin_only"
