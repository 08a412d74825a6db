"""A coordinator reads and changes only their own subtree, on every site route.

`test_every_site_route_is_covered` fails when a route that names a site is added
without a case here, so the scope rule cannot be forgotten on a new route.
"""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import User
from app.main import create_app
from tests.conftest import Tree, make_settings, token_for

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
ADMIN_ONLY = {
    ("GET", "/api/v1/conferences/{conference_id}/registrations"),
    ("GET", "/api/v1/conferences/{conference_id}/invites"),
    ("POST", "/api/v1/conferences/{conference_id}/sites/import"),
}
# The site list itself is scoped by filtering (tested in test_service); listed so it is covered.
FILTERED = {("GET", "/api/v1/conferences/{conference_id}/sites")}


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


def test_every_site_route_is_covered(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url))
    covered = {(m, _normalise(p)) for m, p, _ in CASES} | ADMIN_ONLY | FILTERED
    # The OpenAPI document lists every API route, however routers are nested.
    site_routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if "site" in path
        for method in operations
    }
    assert len(site_routes) >= 10  # the scan itself works
    missing = site_routes - covered
    assert not missing, f"site routes without a scope test: {sorted(missing)}"


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
