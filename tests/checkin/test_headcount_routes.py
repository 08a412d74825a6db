"""JSON API of headcounts and attendance totals."""

from fastapi.testclient import TestClient

from tests.conftest import Tree


def test_headcount_and_attendance_routes(
    client: TestClient, admin_headers: dict[str, str], tree: Tree
) -> None:
    url = f"/api/v1/sites/{tree.ward_a2}/headcounts"
    r = client.post(url, json={"counts": {"dai_bieu": 40, "khach_moi": 3}}, headers=admin_headers)
    assert r.status_code == 201 and r.json()["total"] == 43
    r = client.post(url, json={"counts": {"dai_bieu": 41}}, headers=admin_headers)
    assert r.status_code == 201
    bad = client.post(url, json={"counts": {"dai_bieu": -2}}, headers=admin_headers)
    assert bad.status_code == 422
    history = client.get(url, headers=admin_headers).json()
    assert [h["superseded"] for h in history] == [False, True]
    summary = client.get(f"/api/v1/conferences/{tree.cid}/attendance", headers=admin_headers)
    assert summary.status_code == 200
    body = summary.json()
    assert body["headcount"] == 41
    site = next(s for s in body["sites"] if s["site_id"] == tree.ward_a2)
    assert (site["headcount"], site["present"], site["online_screens"]) == (41, 41, 0)
