"""POST /api/v1/conferences/{id}/sites/import: multipart and raw bodies, limits, refusals."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import User
from app.main import create_app
from tests.conftest import ADMIN_PASSWORD, Tree, make_settings, token_for
from tests.endpoints.import_support import count, csv_bytes, site
from tests.endpoints.support import login

# ---------------------------------------------------------------------- API


def url(tree: Tree) -> str:
    return f"/api/v1/conferences/{tree.cid}/sites/import"


def test_api_import_multipart_creates_sites(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = csv_bytes([["HCM-TD", "Đảng ủy phường Tân Định", "ward", "HCM"]])
    r = client.post(url(tree), headers=admin_headers, files={"file": ("cay.csv", data, "text/csv")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 1 and body["encoding"] == "utf-8" and body["by_kind"] == {"ward": 1}
    assert set(body["seconds"]) == {"parse", "validate", "insert", "total"}
    assert site(db, tree.cid, "HCM-TD").parent_id == tree.hub_a


def test_api_import_raw_csv_body(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = csv_bytes([["HN-CG", "Đảng ủy phường Cầu Giấy", "ward", "HN"]], delimiter="\t")
    r = client.post(url(tree), headers={**admin_headers, "Content-Type": "text/csv"}, content=data)
    assert r.status_code == 201, r.text
    assert site(db, tree.cid, "HN-CG").parent_id == tree.hub_b


def test_api_import_invalid_lines_422_with_errors(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    data = csv_bytes([["HCM", "Trùng mã", "hub", "HN"], ["Z1", "Xã Z", "xã", "KHONG-CO"]])
    before = count(db, tree.cid)
    r = client.post(url(tree), headers=admin_headers, files={"file": ("a.csv", data, "text/csv")})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "import_invalid" and body["error_count"] == 2
    assert body["detail"] == "Tệp có 2 lỗi ở 2 dòng; chưa nhập điểm cầu nào."
    assert [(e["line"], e["column"], e["code"]) for e in body["errors"]] == [
        (2, "parent_code", "parent_differs"), (3, "parent_code", "unknown_parent"),
    ]
    assert count(db, tree.cid) == before


def test_api_import_50_mb_file_refused_413(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, tmp_path: Path, db: Session
) -> None:
    big = tmp_path / "big.csv"
    line = b"C000000,\"" + "Xã Ấp Bắc ".encode() * 8 + b"\",xa,HCM\r\n"
    with big.open("wb") as fh:
        fh.write(b"code,name,kind,parent_code\r\n")
        for _ in range(50 * 1024 * 1024 // (len(line) * 1000) + 1):
            fh.write(line * 1000)
    assert big.stat().st_size >= 50 * 1024 * 1024
    before = count(db, tree.cid)
    with big.open("rb") as fh:
        r = client.post(url(tree), headers=admin_headers,
                        files={"file": ("big.csv", fh, "text/csv")})
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "file_too_large" and "20 MB" in r.json()["detail"]
    assert count(db, tree.cid) == before


@pytest.fixture
def small_client(database_url: str) -> Iterator[TestClient]:
    """An app that accepts uploads of at most 4 KiB."""
    with TestClient(create_app(make_settings(database_url, max_import_bytes=4096))) as c:
        yield c


def test_api_import_streamed_body_over_limit_refused(
    small_client: TestClient, tree: Tree
) -> None:
    headers = token_for(small_client, "admin", ADMIN_PASSWORD)

    def chunks() -> Iterator[bytes]:
        yield b"code,name,kind,parent_code\r\n"
        for i in range(1000):
            yield f"S{i},Xã {i},xã,HCM\r\n".encode()

    r = small_client.post(url(tree), headers={**headers, "Content-Type": "text/csv"},
                          content=chunks())
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    boundary = "diemcau-test"

    def multipart() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
        for i in range(10_000):
            yield f"S{i},Xã {i},xã,HCM\r\n".encode()
        yield f"\r\n--{boundary}--\r\n".encode()

    r = small_client.post(
        url(tree), content=multipart(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"


def test_api_import_200_000_rows_refused_413(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    data = csv_bytes([[f"C{i}", f"Xã {i}", "xã", "HCM"] for i in range(200_000)])
    r = client.post(url(tree), headers=admin_headers, files={"file": ("a.csv", data, "text/csv")})
    assert r.status_code == 413 and r.json()["code"] == "too_many_rows"


def test_api_import_by_coordinator_403(
    client: TestClient, tree: Tree, coordinator_a: User
) -> None:
    headers = token_for(client, "hcm", "hcm-password")
    data = csv_bytes([["HCM-X", "Xã X", "xã", "HCM"]])
    r = client.post(url(tree), headers=headers, files={"file": ("a.csv", data, "text/csv")})
    assert r.status_code == 403 and r.json()["code"] == "admin_only"


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("anh.png", b"\x89PNG\r\n\x1a\n", "unsupported_file"),
        ("ghi-chu.docx", b"PK\x03\x04", "unsupported_file"),
        ("cu.csv", "§¶ng ñy".encode("latin-1"), "encoding_unsupported"),
    ],
)
def test_api_import_unsupported_files_415(
    client: TestClient, admin_headers: dict[str, str], tree: Tree,
    filename: str, data: bytes, code: str,
) -> None:
    r = client.post(url(tree), headers=admin_headers,
                    files={"file": (filename, data, "application/octet-stream")})
    assert r.status_code == 415 and r.json()["code"] == code


def test_api_import_without_file_or_with_json_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    r = client.post(url(tree), headers=admin_headers, data={"other": "x"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_file"
    r = client.post(url(tree), headers=admin_headers, json={"rows": []})
    assert r.status_code == 415
    r = client.post("/api/v1/conferences/99999/sites/import", headers=admin_headers,
                    files={"file": ("a.csv", csv_bytes([["A", "Xã A", "xã", ""]]), "text/csv")})
    assert r.status_code == 404 and r.json()["code"] == "conference_not_found"




def test_api_import_cookie_needs_csrf_and_text_plain_is_refused(
    client: TestClient, admin_headers: dict[str, str], tree: Tree, db: Session
) -> None:
    # text/plain is what a cross-site HTML form can send without a preflight: refused even
    # with a bearer token, so the import never reads a body another site could forge.
    data = csv_bytes([["HCM-X", "Xã X", "ward", "HCM"]])
    before = count(db, tree.cid)
    plain = {**admin_headers, "Content-Type": "text/plain"}
    r = client.post(url(tree), headers=plain, content=data)
    assert r.status_code == 415 and r.json()["code"] == "unsupported_file"
    login(client, "admin", ADMIN_PASSWORD)  # the login cookie, as a browser holds it
    r = client.post(url(tree), headers={"Content-Type": "text/csv"}, content=data)
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")
    assert count(db, tree.cid) == before
