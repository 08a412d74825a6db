"""The check-in desk as an installed web app: the service worker keeps every file the
scanner and headcount pages load, and the manifest starts on the site's desk."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from checkin import offline_pages
from tests.conftest import ADMIN_PASSWORD, Tree
from tests.endpoints.support import login

_ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="(/static/[^"]+)"')


def test_service_worker_is_served_with_its_files_and_a_content_version(
    client: TestClient
) -> None:
    r = client.get("/checkin-sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["service-worker-allowed"] == "/sites/"
    assert "__VERSION__" not in r.text and "__ASSETS__" not in r.text
    listed = re.search(r"var ASSETS = (\[.*?\]);", r.text)
    assert listed is not None
    assert json.loads(listed.group(1)) == list(offline_pages.SHELL_ASSETS)
    for asset in offline_pages.SHELL_ASSETS:  # install fails if one of them is missing
        assert client.get(asset).status_code == 200, asset
    version = re.search(r'var VERSION = "([0-9a-f]{16})";', r.text)
    assert version is not None


def test_service_worker_version_follows_the_files_it_keeps(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_pages.service_worker_source.cache_clear()
    before = offline_pages.service_worker_source()
    monkeypatch.setattr(offline_pages, "SHELL_ASSETS", offline_pages.SHELL_ASSETS[:-1])
    offline_pages.service_worker_source.cache_clear()
    try:
        assert offline_pages.service_worker_source() != before
    finally:
        offline_pages.service_worker_source.cache_clear()


@pytest.mark.parametrize("page", ["checkin", "headcount"])
def test_desk_pages_load_only_files_the_service_worker_keeps(
    client: TestClient, tree: Tree, page: str
) -> None:
    login(client, "admin", ADMIN_PASSWORD)
    r = client.get(f"/sites/{tree.ward_a1}/{page}?conference_id={tree.cid}")
    assert r.status_code == 200
    assets = set(_ASSET.findall(r.text))
    assert "/static/offline.js" in assets and "/static/offline_sync.js" in assets
    assert assets <= set(offline_pages.SHELL_ASSETS), assets - set(offline_pages.SHELL_ASSETS)
    assert f'href="/checkin.webmanifest?site_id={tree.ward_a1}"' in r.text


def test_manifest_starts_on_the_sites_desk(client: TestClient) -> None:
    r = client.get("/checkin.webmanifest", params={"site_id": 42})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/manifest+json")
    body = r.json()
    assert body["start_url"] == "/sites/42/checkin" and body["scope"] == "/sites/"
    assert body["display"] == "standalone"
    assert all(i["src"].startswith("/static/") for i in body["icons"])
    assert client.get("/checkin.webmanifest", params={"site_id": "x"}).status_code == 422
    assert client.get("/checkin.webmanifest").status_code == 422
