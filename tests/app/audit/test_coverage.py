"""Every write of the app is on the record: each unsafe route (POST, PUT, PATCH, DELETE) of
the route table, called successfully, leaves at least one new audit entry once the spool is
flushed. Built on the authorization matrix's walk (tests/endpoints/access_matrix.py: every
route has a line there, so a new unsafe route is called here too).

The role each route is called as is the first of admin, hub, screen, anon it lets in;
`SUCCEED` changes a line whose matrix call is refused by design (a 409 or 422 that only
proves who may call it) into one that succeeds. `EXEMPT` names, with a reason, the few
routes that write nothing worth an entry.
"""

import functools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app.audit import spool
from app.audit.models import AuditEntry
from app.main import create_app
from checkin import keys
from tests.conftest import make_settings
from tests.endpoints.access_matrix import _REGISTRATION, ADMIN_ONLY, MATRIX, Route, Rule
from tests.endpoints.matrix_world import World, call, world

UNSAFE = sorted(r for r in MATRIX if r[0] in {"POST", "PUT", "PATCH", "DELETE"})

_NOT_HERE = ADMIN_ONLY  # a cell marked refused so the call goes to the next role
_TIMES = {"starts_at": "{today}T13:00", "ends_at": "{today}T16:00"}
_NEW_PASSWORD = "a-long-new-password-9"

# Lines whose matrix call is refused on purpose (it only checks who may call), made to
# succeed here: changes to the line (see Rule.__call__), by route.
SUCCEED: dict[Route, dict[str, Any]] = {
    # Each password change on its own account (it ends that account's other logins).
    ("POST", "/account/password"): {"admin": _NOT_HERE, "hub": _NOT_HERE, "body": {
        "current_password": "hanoi-password-1", "new_password": _NEW_PASSWORD,
        "confirm_password": _NEW_PASSWORD}},
    ("POST", "/api/v1/auth/password"): {
        "admin": _NOT_HERE, "hub": _NOT_HERE, "other": _NOT_HERE,
        "body": {"current_password": "danang-password-1", "new_password": _NEW_PASSWORD}},
    ("POST", "/api/v1/auth/password-reset"): {
        "body": {"token": "{reset_token}", "new_password": _NEW_PASSWORD},
        "fresh": ("reset_token",)},
    ("POST", "/password-reset/{token}"): {
        "body": {"new_password": _NEW_PASSWORD, "confirm_password": _NEW_PASSWORD},
        "fresh": ("reset_token",)},
    ("PATCH", "/api/v1/sessions/{session_id}"): {"body": {"title": "Phiên bế mạc"}},
    # A site has the floor, so there is a speaker to end or to time.
    ("POST", "/api/v1/sessions/{session_id}/floor/end"): {
        "use": {"session_id": "speaker_session"}, "fresh": ("speaker_session",)},
    ("PUT", "/api/v1/sessions/{session_id}/floor/limit"): {
        "use": {"session_id": "speaker_session"}, "fresh": ("speaker_session",)},
    # A form in the state each command changes: open to close, shown to hide, closed to show.
    ("POST", "/api/v1/forms/{form_id}/close"): {
        "use": {"form_id": "open_form_id"}, "fresh": ("open_form_id",)},
    ("POST", "/api/v1/forms/{form_id}/hide"): {
        "use": {"form_id": "open_form_id"}, "fresh": ("open_form_id",)},
    ("POST", "/api/v1/forms/{form_id}/results/show"): {
        "use": {"form_id": "closed_form_id"}, "fresh": ("closed_form_id",)},
    ("POST", "/agenda-items/{agenda_item_id}"): {"body": {"title": "Khai mạc hội nghị",
                                                          "kind": "opening"}},
    ("POST", "/agenda-items/{agenda_item_id}/move"): {"fresh": ("agenda_item_id",)},
    ("POST", "/conferences"): {"body": {"title": "Hội nghị mới", "starts_on": "{today}",
                                        "ends_on": "{today}"}},
    ("POST", "/conferences/{conference_id}/sessions"): {"body": {"title": "Phiên chiều",
                                                                 **_TIMES}},
    ("POST", "/sessions/{session_id}"): {"body": {"title": "Phiên tối", **_TIMES},
                                         "fresh": ("session_id",)},
    ("POST", "/sessions/{session_id}/agenda"): {"body": {"title": "Thảo luận",
                                                         "kind": "discussion"}},
    ("POST", "/sites/{site_id}/coordinators"): {"body": {
        "username": "pagecoord", "password": "page-password-1", "full_name": "Ngô Văn Đức"}},
    ("POST", "/conferences/{conference_id}/invite-sites"): {"body": {"mode": "all"}},
    ("POST", "/api/v1/registry/units"): {"body": {"province_code": 12}},
    ("POST", "/registry/units"): {"body": {"province_code": "11"}},
    ("POST", "/api/v1/conferences/{conference_id}/participants"): {
        "body": {"site_ids": ["{outside_site_id}"]}},
    ("POST", "/api/v1/accounts/{user_id}/enable"): {"use": {"user_id": "disabled_account_id"}},
    ("POST", "/api/v1/sessions/{session_id}/reopen"): {"use": {"session_id": "closed_session_id"}},
    ("POST", "/sessions/{session_id}/reopen"): {"use": {"session_id": "closed_session_id"}},
    ("POST", "/api/v1/sites/{site_id}/restore"): {"use": {"site_id": "retired_site_id"}},
    ("POST", "/api/v1/sites/{site_id}/approve"): {"use": {"site_id": "registered_site_id"}},
    ("POST", "/api/v1/sites/{site_id}/reject"): {"use": {"site_id": "registered_site_id"}},
    ("POST", "/sites/{site_id}/approve"): {"use": {"site_id": "registered_site_id"}},
    ("POST", "/sites/{site_id}/reject"): {"use": {"site_id": "registered_site_id"}},
    ("POST", "/api/v1/pass-keys/{kid}/revoke"): {"use": {"kid": "retired_kid"}},
    ("POST", "/invite/{token}"): {
        "body": {**_REGISTRATION, "password_confirm": "sg-password-1",
                 "notice_version": "{notice_version}"},
        "fresh": ("invite_token", "notice_version")},
    # The matrix sends the values already held (nothing to write): change them here.
    ("PUT", "/api/v1/conferences/{conference_id}/privacy"): {"body": {"retention_days": 120}},
    ("POST", "/conferences/{conference_id}/privacy"): {
        "body": {"text": "Thông báo riêng của hội nghị.", "retention_days": "60"}},
    ("PUT", "/api/v1/sessions/{session_id}/agenda/order"): {
        "use": {"session_id": "two_item_session_id"}, "body": {"ids": ["{item_b}", "{item_a}"]}},
}

# Routes that write nothing here, each with its reason.
EXEMPT: dict[Route, str] = {
    ("POST", "/api/v1/conferences/{conference_id}/purge"):
        "the world's conference is running, so the purge is refused and writes nothing; "
        "a purge's entry: tests/checkin/test_retention.py",
}


@pytest.fixture(scope="module")
def audited_world(tmp_path_factory: pytest.TempPathFactory,
                  sqlite_template: Path) -> Iterator[World]:
    """One seeded world for every unsafe route (each route costs a few requests)."""
    folder = tmp_path_factory.mktemp("audit-coverage")
    shutil.copy(sqlite_template, folder / "audit.db")
    settings = make_settings(f"sqlite:///{folder / 'audit.db'}", data_dir=folder / "var")
    with TestClient(create_app(settings)) as client:
        for w in world(client):
            _more_makers(w, settings.secret_key)
            yield w


def _more_makers(w: World, secret_key: str) -> None:
    """Objects in the state a route needs to succeed (closed, retired, registered…)."""
    v, cid = w.values, w.values["conference_id"]
    engine = w.client.app.state.engine  # type: ignore[attr-defined]

    def closed_session() -> int:
        made = w.makers["session_id"]()
        w.api("POST", f"/api/v1/sessions/{made}/close")
        return int(made)

    def retired_site() -> int:
        made = w.makers["site_id"]()
        w.api("POST", f"/api/v1/sites/{made}/retire", json={})
        return int(made)

    def disabled_account() -> int:
        made = w.makers["account_id"]()
        w.api("POST", f"/api/v1/accounts/{made}/disable")
        return int(made)

    def notice_version() -> int:  # another line edits the notice: register with the current
        return int(w.client.get(f"/api/v1/privacy/{cid}").json()["version"])

    def registered_site() -> int:
        body = {"site_name": "Phường Bến Thành", "kind": "ward", "full_name": "Trần Văn Bình",
                "phone": "0912345678", "username": f"bt{w.makers['serial']()}",
                "password": "bt-password-1", "accept_notice": True,
                "notice_version": notice_version()}
        token = w.makers["invite_token"]()
        r = w.client.post(f"/api/v1/invites/{token}/register", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["site"]["id"])

    def retired_kid() -> str:
        keys.rotate(engine, secret_key=secret_key)
        # The seeded pass is signed by the retired key this line revokes: a new one.
        v["pass_code"] = w.api("POST", f"/api/v1/conferences/{cid}/attendees", json=[
            {"full_name": "Lê Văn Mới", "site_id": v["site_id"]}])[0]["code"]
        return str(next(k["kid"] for k in w.api("GET", "/api/v1/pass-keys")
                        if k["retired_at"] is not None and k["revoked_at"] is None))

    two: dict[str, int] = {}

    def two_items(name: str) -> int:
        if not two:
            two["two_item_session_id"] = session = w.makers["session_id"]()
            for key in ("item_a", "item_b"):
                two[key] = int(w.api("POST", f"/api/v1/sessions/{session}/agenda",
                                     json={"title": key})["id"])
        return two[name]

    w.makers.update(
        closed_session_id=closed_session, retired_site_id=retired_site,
        disabled_account_id=disabled_account, registered_site_id=registered_site,
        retired_kid=retired_kid, notice_version=notice_version,
        outside_site_id=lambda: int(w.api("POST", "/api/v1/registry/sites", json={
            "name": "Xã ngoài hội nghị", "kind": "commune", "parent_id": v["hub_a"]})["id"]),
        **{name: functools.partial(two_items, name)
           for name in ("two_item_session_id", "item_a", "item_b")},
    )


def _entries(engine: Engine) -> int:
    """The newest entry's id once everything counted is written."""
    spool.flush(engine)
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(AuditEntry.id))).scalar_one()
    return int(newest or 0)


def _role(rule: Rule) -> str:
    return next(r for r in ("admin", "hub", "other", "stranger", "screen", "anon")
                if rule.cells[r] is None)


def _prepared(w: World, route: Route, rule: Rule, role: str) -> Rule:
    """The rule with every value it needs made now (fresh objects, logins), so the entries
    counted afterwards are the route's own."""
    names = set(re.findall(r"\{(\w+)\}", f"{route[1]} {rule.query} {rule.body}"))
    use = dict(rule.use)
    for name in names:
        target = use.get(name, name)
        if target in rule.fresh or target not in w.values:
            w.values[f"made_{target}"] = w.value(target, rule.fresh)
            use[name] = f"made_{target}"
    if role in ("admin", "hub", "other", "stranger"):
        w.bearer(role)
        w.page_login(role)
    else:
        w.page_login("anon")
    return rule(use=use, fresh=tuple(f for f in rule.fresh if f == "login"))


@pytest.mark.parametrize("route", UNSAFE, ids=[f"{m} {p}" for m, p in UNSAFE])
def test_unsafe_route_leaves_an_audit_entry(audited_world: World, route: Route) -> None:
    if route in EXEMPT:
        pytest.skip(EXEMPT[route])
    w = audited_world
    engine: Engine = w.client.app.state.engine  # type: ignore[attr-defined]
    rule = MATRIX[route](**SUCCEED.get(route, {}))
    role = _role(rule)
    rule = _prepared(w, route, rule, role)
    before = _entries(engine)
    got = call(w, route, rule, role)
    assert got.status < 400, f"{route} as {role} must succeed here: {got}"
    assert _entries(engine) > before, f"{route} as {role} ({got}) left no audit entry"


# Reads that show or export personal data (attendees' identities and passes, the contact
# person of a site, coordinators' names and phones): each is on the record.
PERSONAL_READS: list[Route] = [
    ("GET", "/api/v1/conferences/{conference_id}/attendees"),
    ("GET", "/api/v1/attendees/{attendee_id}"),
    ("GET", "/api/v1/attendees/{attendee_id}/pass.png"),
    ("GET", "/api/v1/attendees/{attendee_id}/pass.svg"),
    ("GET", "/attendees/{attendee_id}/pass"),
    ("GET", "/sites/{site_id}/badges"),
    ("GET", "/api/v1/sites/{site_id}/offline-roster"),
    ("GET", "/api/v1/conferences/{conference_id}/sites"),
    ("GET", "/conferences/{conference_id}/sites"),
    ("GET", "/api/v1/sites/{site_id}"),
    ("GET", "/sites/{site_id}"),
    ("GET", "/api/v1/registry/sites"),
    ("GET", "/api/v1/registry/sites/{site_id}"),
    ("GET", "/api/v1/accounts"),
    ("GET", "/accounts"),
    ("GET", "/api/v1/conferences/{conference_id}/registrations"),
    ("GET", "/conferences/{conference_id}/registrations"),
]


@pytest.mark.parametrize("route", PERSONAL_READS, ids=[f"{m} {p}" for m, p in PERSONAL_READS])
def test_a_view_or_export_of_personal_data_is_on_the_record(
    audited_world: World, route: Route
) -> None:
    w = audited_world
    engine: Engine = w.client.app.state.engine  # type: ignore[attr-defined]
    rule = _prepared(w, route, MATRIX[route], "admin")
    before = _entries(engine)
    got = call(w, route, rule, "admin")
    assert got.status < 400, f"{route}: {got}"
    assert _entries(engine) > before
    with engine.connect() as conn:
        newest = conn.execute(select(AuditEntry).where(
            AuditEntry.id > before)).all()  # type: ignore[arg-type,operator]
    assert {row.action for row in newest} & {"view", "export"}, newest


def test_exemptions_name_routes_that_exist() -> None:
    assert not set(EXEMPT) - set(UNSAFE) and not set(SUCCEED) - set(UNSAFE)
    assert not set(PERSONAL_READS) - set(MATRIX)
