"""Bad input never gives a 500: stable codes, Vietnamese details, JSON for /api, HTML for pages."""

import unicodedata
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tree

CONFERENCE = {"title": "Hội nghị tập huấn", "starts_on": "2025-09-09", "ends_on": "2025-09-09"}


def _assert_validation_error(body: dict[str, Any]) -> None:
    assert body["code"] == "validation_error"
    assert body["detail"].startswith("Dữ liệu không hợp lệ")


def test_malformed_json_is_a_validation_error(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/conferences",
        content=b'{"title": "H\xe1\xbb\x99i ngh\xe1\xbb\x8b", "starts_on": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    _assert_validation_error(r.json())
    assert r.json()["errors"][0]["message"] == "JSON không hợp lệ"


def test_unknown_field_is_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/conferences", json={**CONFERENCE, "venue": "Hà Nội"}, headers=admin_headers
    )
    assert r.status_code == 422
    _assert_validation_error(r.json())
    assert r.json()["errors"][0] == {
        "field": "venue", "type": "extra_forbidden", "message": "trường không được phép"
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "Phường Sài Gòn", "kind": "ward", "expected_attendees": "nhiều"},
         "expected_attendees", "phải là số nguyên"),
        ({"name": 12345, "kind": "ward"}, "name", "phải là chuỗi ký tự"),
        ({"name": "Phường Sài Gòn", "kind": "tỉnh"}, "kind",
         "giá trị không nằm trong danh sách cho phép"),
        ({"name": "Phường Sài Gòn", "kind": "ward", "expected_attendees": -1},
         "expected_attendees", "quá nhỏ"),
    ],
    ids=["attendees-not-a-number", "name-not-a-string", "unknown-kind", "negative-attendees"],
)
def test_wrong_type_is_a_validation_error(
    client: TestClient,
    admin_headers: dict[str, str],
    tree: Tree,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    r = client.post(f"/api/v1/conferences/{tree.cid}/sites", json=body, headers=admin_headers)
    assert r.status_code == 422
    _assert_validation_error(r.json())
    assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["message"]) == (field, message)


def test_body_that_is_not_an_object_is_refused(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.post("/api/v1/conferences", json=[CONFERENCE], headers=admin_headers)
    assert r.status_code == 422
    _assert_validation_error(r.json())


def test_ten_thousand_character_name_is_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sites",
        json={"name": "Đ" * 10_000, "kind": "ward", "parent_id": tree.hub_a},
        headers=admin_headers,
    )
    assert r.status_code == 422
    _assert_validation_error(r.json())
    assert "dài quá 200 ký tự" in r.json()["detail"]


@pytest.mark.parametrize(
    "name",
    ["Phường\x00Sài Gòn", "Phường\x1bSài Gòn", "Phường\u202eSài Gòn"],
    ids=["nul", "escape", "right-to-left-override"],
)
def test_control_characters_are_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, name: str
) -> None:
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sites",
        json={"name": name, "kind": "ward", "parent_id": tree.hub_a},
        headers=admin_headers,
    )
    assert r.status_code == 422
    _assert_validation_error(r.json())
    assert "ký tự điều khiển" in r.json()["detail"]


def test_bad_query_parameter_is_a_validation_error(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.get(f"/api/v1/conferences/{tree.cid}/sites?limit=abc", headers=admin_headers)
    assert r.status_code == 422
    _assert_validation_error(r.json())


def test_unknown_api_route_is_json_not_found(client: TestClient) -> None:
    r = client.get("/api/v1/khong-co-duong-dan-nay")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"code": "not_found", "detail": "Không tìm thấy."}


def test_unknown_page_renders_html_not_found(client: TestClient) -> None:
    r = client.get("/khong-co-trang-nay", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Không tìm thấy</h1>" in r.text
    assert "<code>not_found</code>" in r.text


def test_nfd_input_is_stored_as_nfc(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    nfc_name = "Đảng ủy phường Nguyễn Thái Bình"
    nfd_name = unicodedata.normalize("NFD", nfc_name)
    assert nfd_name != nfc_name
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sites",
        json={"name": nfd_name, "kind": "ward", "parent_id": tree.hub_a,
              "contact_name": unicodedata.normalize("NFD", "Lê Thị Hồng")},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == nfc_name
    assert r.json()["contact_name"] == "Lê Thị Hồng"
    stored = client.get(f"/api/v1/sites/{r.json()['id']}", headers=admin_headers).json()
    assert stored["name"] == nfc_name
    found = client.get(
        f"/api/v1/conferences/{tree.cid}/sites",
        params={"q": nfc_name},
        headers=admin_headers,
    ).json()
    assert [s["id"] for s in found] == [r.json()["id"]]


BEYOND_SQLITE = 2**63  # past SQLite's 64-bit INTEGER: OverflowError in the driver
BEYOND_POSTGRES = 2**31  # past PostgreSQL's INTEGER columns: NumericValueOutOfRange


def _on_postgres(client: TestClient) -> bool:
    return str(client.app.state.settings.database_url).startswith("postgresql")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/conferences/{BEYOND_SQLITE}",
        f"/api/v1/sites/{-BEYOND_SQLITE - 1}",
        "/api/v1/conferences/{cid}/sites?under_id=" + str(BEYOND_SQLITE),
    ],
    ids=["path-id", "negative-path-id", "query-id"],
)
def test_integer_beyond_64_bits_is_refused_not_a_server_error(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, path: str
) -> None:
    r = client.get(path.format(cid=tree.cid), headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["code"] == "value_out_of_range"


def test_id_beyond_postgres_integer_in_body_is_refused_or_not_found(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.post(
        f"/api/v1/conferences/{tree.cid}/sites",
        json={"name": "Phường Sài Gòn", "kind": "ward", "parent_id": BEYOND_POSTGRES},
        headers=admin_headers,
    )
    assert r.status_code == 422
    # SQLite can look the id up (and finds nothing); PostgreSQL cannot even compare it.
    expected = "value_out_of_range" if _on_postgres(client) else "parent_not_found"
    assert r.json()["code"] == expected


def test_nul_byte_in_query_is_refused_on_postgres_and_harmless_on_sqlite(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.get(f"/api/v1/conferences/{tree.cid}/sites?q=a%00b", headers=admin_headers)
    if _on_postgres(client):
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_characters"
    else:
        assert (r.status_code, r.json()) == (200, [])


def test_nul_byte_in_login_form_never_reaches_a_server_error(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "ad\x00min", "password": "x"})
    expected = (422, "invalid_characters") if _on_postgres(client) else (401, "invalid_credentials")
    assert (r.status_code, r.json()["code"]) == expected


def test_huge_id_on_a_page_renders_an_html_error(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.get(f"/sites/{BEYOND_SQLITE}", headers=admin_headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "Giá trị số vượt quá giới hạn cho phép." in r.text


def test_openapi_documents_the_validation_error_body_we_send(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    documented = schema["HTTPValidationError"]
    body = client.post("/api/v1/conferences", json={}, headers=admin_headers).json()
    assert set(documented["required"]) == {"code", "detail"}
    assert set(body) == set(documented["properties"])
    assert "ValidationError" not in schema
