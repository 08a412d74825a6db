"""The seeded world of the authorization matrix, the roles' credentials, one call, its outcome.

One world per test module (SQLite only: the matrix tests who is let in, which is the
same code on both backends; the services' queries run on both in their own tests).
Everything is made through the API as the central office, the way a real event is.
"""

import html
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from app.db import local_today
from app.errors import AppError
from app.main import DirectWebsockets
from app.security import CSRF_FIELD
from checkin.answer_links import site_answer_code
from sessions.form_models import FormStatus
from tests.checkin.forms_world import make_form as make_answer_form
from tests.checkin.forms_world import put_on_stage, set_status
from tests.conftest import ADMIN_PASSWORD, token_for
from tests.endpoints import support
from tests.endpoints.access_matrix import _QUIZ, Route, Rule
from tests.sessions.form_live_support import make_form
from tests.sessions.support import make_pdf

# Words only one subtree holds (its hub's and wards' names and codes, an attendee): what
# a coordinator may call shows none of another subtree's (lists are filtered to theirs).
_A = ("Hội nghị 272", "Tân Định", "HCM-TD", "Nguyễn Văn Kín", "Cần Giờ")
_B = ("Long Biên", "Hoàn Kiếm", "HN-HK", "Trần Thị Kín")
SECRETS = {"hub": _B, "other": _A, "stranger": _A + _B}
USERS = {"admin": ("admin", ADMIN_PASSWORD), "hub": ("hcm", "hcm-password-1"),
         "other": ("hanoi", "hanoi-password-1"), "stranger": ("danang", "danang-password-1")}
_CSV = b"code,name,kind,parent_code\nX1,Xa moi,commune,HCM\n"
_ROSTER = "họ và tên,mã điểm cầu\nĐỗ Văn Em,HCM-TD\n".encode()
_BANK_FILE = "Câu hỏi,Loại,A,B,Đáp án\nHỏi,một,Có,Không,A\n".encode()
_ERROR_CODE = re.compile(r"<code>([a-z_]+)</code>")


def app_routes(app: Any) -> set[Route]:
    """Every (method, path) the app answers, websockets as ("WS", path); HEAD is GET's."""
    found: set[Route] = set()
    routes: list[BaseRoute] = list(app.routes)
    for ctx in iter_route_contexts(routes):
        route, path = ctx.original_route, ctx.path
        if isinstance(route, Mount):
            continue  # static files: no authorization to test
        if isinstance(route, WebSocketRoute):
            found.add(("WS", str(path)))
            continue
        found |= {(m, str(path)) for m in ctx.methods or () if m != "HEAD"}
    # Sockets handed straight to their handler, before the router (app.main.DirectWebsockets).
    # (app.direct.DirectPosts' routes are declared routes too: the walk above has them.)
    for middleware in app.user_middleware:
        if middleware.cls is DirectWebsockets:
            found |= {("WS", path) for path in middleware.kwargs.get("routes", {})}
    return found


@dataclass
class World:
    """Ids and secrets of the seeded event, and makers of fresh ones."""

    client: TestClient
    values: dict[str, Any] = field(default_factory=dict)
    makers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)

    def api(self, method: str, url: str, **kwargs: Any) -> Any:
        """A call as the central office that must succeed; its JSON."""
        r = self.client.request(method, url, headers=self.bearer("admin"), **kwargs)
        assert r.status_code < 300, (method, url, r.text)
        return r.json() if r.content else None

    def bearer(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            username, password = USERS[role]
            self.tokens[role] = token_for(self.client, username, password)["Authorization"]
        return {"Authorization": self.tokens[role]}

    def page_login(self, role: str) -> tuple[dict[str, str], str]:
        """The cookie jar and CSRF token of a role's browser (logged in, or just visiting)."""
        if role not in self.cookies:
            self.client.cookies.clear()
            if role in USERS:
                support.login(self.client, *USERS[role])
            token = support.csrf(self.client)  # opens the login page when not logged in
            self.cookies[role] = (dict(self.client.cookies), token)
        return self.cookies[role]

    def forget(self, role: str) -> None:
        """Drop a role's login after a logout (the next request logs in again)."""
        self.tokens.pop(role, None)
        self.cookies.pop(role, None)

    def value(self, name: str, fresh: tuple[str, ...] = ()) -> Any:
        if name in fresh or name not in self.values:
            return self.makers[name]()
        return self.values[name]


def _seed(w: World) -> None:
    today = local_today().isoformat()
    v = w.values
    v["today"] = today
    cid = v["conference_id"] = w.api("POST", "/api/v1/conferences", json={
        "title": "Hội nghị tập huấn", "starts_on": today, "ends_on": today})["id"]

    def site(name: str, kind: str, parent: int | None, code: str) -> int:
        body = {"name": name, "kind": kind, "parent_id": parent, "code": code}
        return int(w.api("POST", f"/api/v1/conferences/{cid}/sites", json=body)["id"])

    central = site("Hội trường Trung ương", "central", None, "TW")
    hub_a = v["hub_a"] = site("Trung tâm Hội nghị 272", "hub", central, "HCM")
    v["site_id"] = site("Đảng ủy phường Tân Định", "ward", hub_a, "HCM-TD")
    v["spare_site_id"] = site("Đảng ủy xã Cần Giờ", "commune", hub_a, "HCM-CG")
    hub_b = site("Điểm cầu Long Biên", "hub", central, "HN")
    ward_b = site("Đảng ủy phường Hoàn Kiếm", "ward", hub_b, "HN-HK")
    w.api("POST", f"/api/v1/conferences/{cid}/attendees",
          json=[{"full_name": "Trần Thị Kín", "site_id": ward_b}])
    # Hub C's subtree takes part in another conference only.
    hub_c = _registry_site(w, "Điểm cầu Đà Nẵng", "hub", central, "DN")
    elsewhere = w.api("POST", "/api/v1/conferences", json={
        "title": "Hội nghị Đà Nẵng", "starts_on": today, "ends_on": today})["id"]
    w.api("POST", f"/api/v1/conferences/{elsewhere}/participants", json={"under_id": hub_c})
    for role, parent in (("hub", hub_a), ("other", hub_b), ("stranger", hub_c)):
        username, password = USERS[role]
        w.api("POST", f"/api/v1/sites/{parent}/coordinators", json={
            "username": username, "password": password, "full_name": "Lê Thị Hồng"})
    _seed_programme(w, cid, today)
    _seed_site_things(w, cid)
    _seed_banks(w, cid)
    _seed_forms(w)
    _seed_answer_form(w, cid)


def _registry_site(w: World, name: str, kind: str, parent: int, code: str) -> int:
    body = {"name": name, "kind": kind, "parent_id": parent, "code": code}
    return int(w.api("POST", "/api/v1/registry/sites", json=body)["id"])


def _seed_programme(w: World, cid: int, today: str) -> None:
    v = w.values

    def session() -> int:
        return int(w.api("POST", f"/api/v1/conferences/{cid}/sessions", json={
            "title": "Phiên khai mạc", "starts_at": f"{today}T00:01:00+07:00",
            "ends_at": f"{today}T23:59:00+07:00"})["id"])

    def item() -> int:
        return int(w.api("POST", f"/api/v1/sessions/{v['session_id']}/agenda",
                         json={"title": "Khai mạc"})["id"])

    w.makers.update(session_id=session, agenda_item_id=item)
    v["session_id"] = session()
    v["agenda_item_id"] = item()
    deck = w.api("POST", f"/api/v1/agenda-items/{v['agenda_item_id']}/deck",
                 files={"file": ("slides.pdf", make_pdf(1), "application/pdf")})
    _, _, deck_id, key, page = deck["thumbnail_url"].removesuffix(".png").split("/")
    v.update(deck_id=deck_id, key=key, page=page)
    w.api("PUT", f"/api/v1/sessions/{v['session_id']}/state",
          json={"agenda_item_id": v["agenda_item_id"]})
    # Read when used: a line that rotates the link makes earlier tokens stale.
    w.makers["follow_token"] = lambda: w.api(
        "GET", f"/api/v1/conferences/{cid}/follow-link")["token"]


def _seed_site_things(w: World, cid: int) -> None:
    v, site_id = w.values, w.values["site_id"]
    serials = itertools.count(1)

    def attendee() -> int:
        made = w.api("POST", f"/api/v1/conferences/{cid}/attendees",
                     json=[{"full_name": "Nguyễn Văn Kín", "site_id": site_id}])[0]
        v.setdefault("pass_code", made["code"])
        v.setdefault("short_code", made["short_code"])
        return int(made["id"])

    def account() -> int:
        body = {"username": f"acct{next(serials)}", "password": "account-password-1",
                "full_name": "Lê Thị Tài"}
        return int(w.api("POST", f"/api/v1/sites/{site_id}/coordinators", json=body)["id"])

    def spare_site() -> int:
        body = {"name": "Xã tạm", "kind": "commune", "parent_id": v["hub_a"]}
        return int(w.api("POST", f"/api/v1/conferences/{cid}/sites", json=body)["id"])

    w.makers.update(
        attendee_id=attendee,
        request_id=lambda: _data_request(w, attendee()),
        own_token=lambda: w.api("GET", f"/api/v1/attendees/{v['attendee_id']}/link")["token"],
        screen_id=lambda: w.api("POST", f"/api/v1/sites/{site_id}/screen-token")["screen_id"],
        pairing_code=lambda: w.api("POST", f"/api/v1/sites/{site_id}/pairing-code")["code"],
        incident_id=lambda: w.api("POST", f"/api/v1/sites/{site_id}/incidents",
                                  json={"reason": "Mất tiếng"})["id"],
        invite_id=lambda: w.api("POST", f"/api/v1/conferences/{cid}/invites",
                                json={"parent_site_id": v["hub_a"]})["id"],
        invite_token=lambda: w.api("POST", f"/api/v1/conferences/{cid}/invites",
                                   json={"parent_site_id": v["hub_a"]})["token"],
        # Rotates every 20 s: read when used.
        site_token=lambda: w.api("GET", f"/api/v1/sites/{site_id}/self-checkin-qr")["token"],
        site_id=spare_site,
        floor_request_id=lambda: _floor_request(w, spare_site()),
        speaker_session=lambda: _speaker_session(w, spare_site()),
        question_id=lambda: w.api("POST", f"/api/v1/sessions/{v['session_id']}/questions",
                                  # each its own site: a site's questions are rate-limited
                                  json={"text": "Khi nào có hướng dẫn?",
                                        "site_id": spare_site()}
                                  )["id"],
        login=lambda: None,
        account_id=lambda: account(),
        reset_token=lambda: w.api("POST", f"/api/v1/accounts/{account()}/reset-link",
                                  )["url"].rsplit("/", 1)[1],
        kid=lambda: next(k["kid"] for k in w.api("GET", "/api/v1/pass-keys")
                         if k["retired_at"] is None),
        serial=lambda: next(serials),
    )
    v["attendee_id"] = attendee()
    screen = w.api("POST", f"/api/v1/sites/{site_id}/screen-token")
    v["screen_id"], v["screen_token"] = screen["screen_id"], screen["token"]
    v["invite_token"] = w.makers["invite_token"]()
    v["invite_id"] = w.makers["invite_id"]()
    v["incident_id"] = w.makers["incident_id"]()
    v["floor_request_id"] = w.makers["floor_request_id"]()
    v["question_id"] = w.makers["question_id"]()
    v["account_action"] = "logout"


def _seed_banks(w: World, cid: int) -> None:
    """A question bank written through the API (each maker: a new one)."""

    def bank() -> int:
        return int(w.api("POST", f"/api/v1/conferences/{cid}/banks", json=_QUIZ)["id"])

    w.makers.update(bank_id=bank)
    w.values["bank_id"] = bank()


def _seed_answer_form(w: World, cid: int) -> None:
    """A test form to answer (rows) and the site's answer code. Other routes open and
    close forms (one open per conference), so each use opens it again and puts it back
    on the stage: its makers, not values."""
    v, app = w.values, w.client.app
    engine = app.state.engine  # type: ignore[attr-defined]
    with Session(engine, expire_on_commit=False) as db:
        made = make_answer_form(db, conference_id=cid)
    v.update(form_question_id=made.single, form_option_id=made.single_options[1])
    code = site_answer_code(v["site_id"], app.state.settings)  # type: ignore[attr-defined]

    def reopened() -> int:
        with Session(engine) as db:
            set_status(db, made.form_id, FormStatus.open)
            put_on_stage(db, conference_id=cid, form_id=made.form_id)
        return made.form_id

    w.makers.update(answer_form_id=reopened, answer_code=lambda: (reopened(), code)[1])


def _floor_request(w: World, site_id: int) -> int:
    """An open request for the floor of a site of its own (one open request a site)."""
    body = {"site_id": site_id, "topic": "Kinh nghiệm", "speaker_name": "Trần Văn Bình"}
    return int(w.api("POST", f"/api/v1/sessions/{w.values['session_id']}/floor/requests",
                     json=body)["id"])


def _speaker_session(w: World, site_id: int) -> int:
    """The world's session with a site given the floor (routes that need a speaker)."""
    w.api("POST", f"/api/v1/floor/requests/{_floor_request(w, site_id)}/give", json={})
    return int(w.values["session_id"])


def _seed_forms(w: World) -> None:
    """Training forms of the world's session, each in the state its routes need."""
    w.makers.update(
        form_id=lambda: _training_form(w),
        open_form_id=lambda: _training_form(w, "open"),
        closed_form_id=lambda: _training_form(w, "open", "close"),
        shown_form_id=lambda: _training_form(w, "open", "close", "results/show"),
    )
    w.values["form_id"] = w.makers["form_id"]()
    w.values["shown_form_id"] = w.makers["shown_form_id"]()


def _training_form(w: World, *steps: str) -> int:
    """A pre-test of the world's session (on stage), taken through `steps` (the
    presenter's commands). No authoring API yet: its rows are written directly."""
    form_id = make_form(w.client.app.state.engine,  # type: ignore[attr-defined]
                        conference_id=w.values["conference_id"],
                        session_id=w.values["session_id"]).form_id
    for step in steps:
        w.api("POST", f"/api/v1/forms/{form_id}/{step}")
    return form_id


def _data_request(w: World, attendee_id: int) -> int:
    """An erasure request the attendee sent from their own page; its id."""
    token = w.api("GET", f"/api/v1/attendees/{attendee_id}/link")["token"]
    short = w.api("GET", f"/api/v1/attendees/{attendee_id}")["short_code"]
    visitor = TestClient(w.client.app)  # the attendee's own phone
    r = visitor.post(f"/p/{token}/requests", data={
        "code": short, "kind": "erase", CSRF_FIELD: support.csrf(visitor)})
    assert r.status_code == 201, r.text
    return int(next(q["id"] for q in w.api("GET", "/api/v1/data-requests")
                    if q["attendee_id"] == attendee_id))


@dataclass(frozen=True)
class Outcome:
    """What a role got: an HTTP status (101: a websocket accepted) and a stable code."""

    status: int
    code: str | None = None
    where: str = ""
    text: str = ""  # the body

    def __str__(self) -> str:
        return f"{self.status} {self.code or ''} {self.where}".strip()


def _fill(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        whole = re.fullmatch(r"\{(\w+)\}", template)
        if whole and isinstance(values[whole.group(1)], int):
            return values[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)
    if isinstance(template, dict):
        return {k: _fill(x, values) for k, x in template.items()}
    if isinstance(template, list):
        return [_fill(x, values) for x in template]
    return template


def _values(w: World, path: str, rule: Rule) -> dict[str, Any]:
    names = set(re.findall(r"\{(\w+)\}", f"{path} {rule.query} {rule.body}")) | set(rule.fresh)
    out = {}
    for name in names:
        out[name] = w.value(rule.use.get(name, name), rule.fresh)
    return out


def call(w: World, route: Route, rule: Rule, role: str) -> Outcome:
    """Call one route as one role, with the credentials of that role for that route."""
    method, path = route
    values = _values(w, path, rule)
    url = _fill(path, values) + (f"?{_fill(rule.query, values)}" if rule.query else "")
    if method == "WS":
        return _socket(w, url, role)
    kwargs = _credentials(w, role, api=path.startswith("/api/") and not rule.form,
                          body=_fill(rule.body, values))
    if rule.files:
        kwargs["files"] = {"file": _upload(rule.files)}
    response = w.client.request(method, url, follow_redirects=False, **kwargs)
    if "login" in rule.fresh:
        w.forget(role)
    return _outcome(response)


def _upload(kind: str) -> tuple[str, bytes, str]:
    if kind == "pdf":
        return ("slides.pdf", make_pdf(1), "application/pdf")
    if kind == "bank":
        return ("bo.csv", _BANK_FILE, "text/csv")
    return ("data.csv", _ROSTER if kind == "roster" else _CSV, "text/csv")


def _credentials(w: World, role: str, *, api: bool, body: Any) -> dict[str, Any]:
    """How a role calls: API routes with a bearer (a screen: `Screen <token>`), pages
    with the login cookie and the CSRF field; the only place that knows about either."""
    headers: dict[str, str] = {}
    if role in USERS and api:
        headers = w.bearer(role)
    if role == "screen":
        headers = {"Authorization": f"Screen {w.values['screen_token']}"}
    jar, csrf = ({}, "") if api else w.page_login(role if role in USERS else "anon")
    w.client.cookies.clear()
    w.client.cookies.update(jar)
    if api:
        return {"headers": headers, "json": body} if body is not None else {"headers": headers}
    return {"headers": headers, "data": {**(body or {}), CSRF_FIELD: csrf}}


def _socket(w: World, url: str, role: str) -> Outcome:
    w.client.cookies.clear()
    if "token=" not in url:
        token = w.values["screen_token"] if role == "screen" else (
            w.bearer(role)["Authorization"].removeprefix("Bearer ") if role in USERS else "")
        url += ("&" if "?" in url else "?") + f"token={token}"
    try:
        with w.client.websocket_connect(url) as socket:
            socket.receive_text()
            return Outcome(101)
    except WebSocketDisconnect as closed:
        status = closed.code - 4000 if 4400 <= closed.code < 4500 else closed.code
        return Outcome(status, closed.reason or None, f"close {closed.code}")
    except WebSocketDenialResponse as denied:
        return Outcome(denied.status_code, None, "denied")


def _error_codes() -> dict[str, str]:
    """The stable code of each typed error's detail, to read refusals off form pages
    (they show the detail next to the form, not the code)."""
    found: dict[str, str | None] = {}
    todo: list[type[AppError]] = [AppError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        known = found.get(cls.detail, cls.code)
        found[html.escape(cls.detail)] = cls.code if known == cls.code else None  # ambiguous
    return {detail: code for detail, code in found.items() if code}


def _page_code(text: str) -> str | None:
    match = _ERROR_CODE.search(text)
    if match:
        return match.group(1)
    codes = [code for detail, code in _error_codes().items() if detail in text]
    return codes[0] if len(codes) == 1 else None


def _outcome(response: httpx.Response) -> Outcome:
    location = response.headers.get("location", "")
    if response.is_redirect and location.startswith("/login?next="):
        return Outcome(401, "not_authenticated", f"{response.status_code} → {location}")
    code, detail = None, ""
    if response.status_code >= 400:
        if response.headers.get("content-type", "").startswith("application/json"):
            code, detail = response.json().get("code"), str(response.json().get("detail"))
        else:
            code = _page_code(response.text)
    return Outcome(response.status_code, code, detail[:120], response.text)


def world(client: TestClient) -> Iterator[World]:
    """The seeded world on a running client."""
    w = World(client)
    _seed(w)
    yield w
