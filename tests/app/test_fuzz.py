"""Property-based fuzzing of every operation in /openapi.json: no request may cause a 500.

Schemathesis generates valid and invalid requests (NUL bytes, huge integers, wrong types,
missing fields) for each operation of the OpenAPI document and sends them to the app in
process; the answer must never be a server error, and a documented response must match
its schema and content type. Nothing is excluded: websocket routes are not in the
document, and the multipart upload routes get small generated files.

Each operation is its own test item, against one seeded app per backend. The SQLite run
is part of the normal suite; the PostgreSQL run (NUL bytes and 64-bit overflow fail differently
there) is opt-in with DIEMCAU_FUZZ_POSTGRES=1, and always on with CI=true.
DIEMCAU_FUZZ_EXAMPLES changes the budget.
"""

import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from app.main import create_app
from tests.conftest import ADMIN_PASSWORD, _truncate_pg, make_settings

# CI always fuzzes PostgreSQL too (NUL bytes and integer ranges differ there); on a
# laptop it is opt-in to keep the everyday run short.
FUZZ_POSTGRES = os.environ.get("DIEMCAU_FUZZ_POSTGRES", "") == "1" or os.environ.get(
    "CI", ""
).lower() in ("1", "true", "yes")
EXAMPLES = int(os.environ.get("DIEMCAU_FUZZ_EXAMPLES", "25"))
BASE_URL = f"http://{asgi.HOST}"
LOGOUT = "/api/v1/auth/logout"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEEDED_IDS = st.integers(min_value=1, max_value=8)

# The document does not depend on the database: read it once, without a lifespan.
schema = schemathesis.openapi.from_dict(create_app(make_settings("sqlite://")).openapi())


@schema.hook
def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    """Half the time, integer ids name seeded rows, so handlers run past their 404."""

    def seeded(pair: tuple[dict[str, Any] | None, int]) -> dict[str, Any] | None:
        params, value = pair
        if not isinstance(params, dict):
            return params
        return {
            k: value if k.endswith("_id") and isinstance(v, int) else v for k, v in params.items()
        }

    return st.one_of(strategy, st.tuples(strategy, SEEDED_IDS).map(seeded))


_CELL = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40),
)


@st.composite
def _xlsx(draw: st.DrawFn) -> bytes:
    """A real workbook: a header row (often the importer's own) and fuzzed cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    header = draw(st.one_of(st.just(["code", "name", "kind", "parent_code"]), st.lists(_CELL)))
    sheet.append(header)
    for row in draw(st.lists(st.lists(_CELL, max_size=6), max_size=6)):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


schemathesis.openapi.media_type(XLSX, st.one_of(_xlsx(), st.binary(max_size=512)))


@dataclass
class Target:
    """The running app's in-process client and the admin's bearer token."""

    client: requests.Session
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def login(self) -> None:
        """(Re)issue the admin token: fuzzing logout invalidates earlier ones."""
        r = self.client.post(
            f"{BASE_URL}/api/v1/auth/token",
            data={"username": "admin", "password": ADMIN_PASSWORD},
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]

    def create(self, path: str, body: dict[str, Any]) -> int:
        """Create something through the API; its id."""
        r = self.client.post(f"{BASE_URL}{path}", json=body, headers=self.headers)
        assert r.status_code == 201, r.text
        value: int = r.json()["id"]
        return value


def _seed(target: Target) -> None:
    """A conference with a small site tree, a session with an agenda item, an invite
    (all with ids from 1, which the path-parameter hook aims at)."""
    target.login()
    cid = target.create(
        "/api/v1/conferences",
        {"title": "Hội nghị thử", "starts_on": "2025-09-09", "ends_on": "2025-09-09"},
    )
    sites = f"/api/v1/conferences/{cid}/sites"
    central = target.create(sites, {"name": "Hội trường Trung ương", "kind": "central"})
    hub = target.create(sites, {"name": "Điểm cầu TP.HCM", "kind": "hub", "parent_id": central})
    target.create(sites, {"name": "Đảng ủy phường Bến Nghé", "kind": "ward", "parent_id": hub})
    session = target.create(
        f"/api/v1/conferences/{cid}/sessions",
        {
            "title": "Phiên khai mạc",
            "starts_at": "2025-09-09T08:00:00+07:00",
            "ends_at": "2025-09-09T11:00:00+07:00",
        },
    )
    target.create(f"/api/v1/sessions/{session}/agenda", {"title": "Khai mạc"})
    target.create(f"/api/v1/conferences/{cid}/invites", {})


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def fuzz_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: SQLite always, PostgreSQL when asked for."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    if not FUZZ_POSTGRES:
        pytest.skip("PostgreSQL fuzzing is opt-in outside CI: set DIEMCAU_FUZZ_POSTGRES=1")
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture(scope="module")
def target(fuzz_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One seeded app per backend with its lifespan running, shared by every operation
    (starting one per operation would double the run time)."""
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    app = create_app(make_settings(fuzz_url, data_dir=data_dir))
    with asgi.get_client(app) as client:  # type: ignore[arg-type]
        target = Target(client=client)
        try:
            _seed(target)
            yield target
        finally:
            asgi.shutdown_lifespans()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_answers_server_error(case: schemathesis.Case[Any], target: Target) -> None:
    """Every generated request gets a non-5xx answer that matches its documented schema."""
    case.call_and_validate(
        base_url=BASE_URL,
        session=target.client,
        headers=target.headers,
        checks=CHECKS,
    )
    if case.operation.path == LOGOUT:
        target.login()
