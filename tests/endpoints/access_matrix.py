"""Who may call what: the expected answer of every route to every role, one line a route.

`tests/endpoints/test_scope.py` walks the app's route table (HTTP and websocket, including the
routes DirectWebsockets serves before the router) and calls each route listed here as each role, on
one seeded world (tests/endpoints/matrix_world.py). A route of the app without a line here fails
the test, and so does a line without a route: adding a route means adding its line.

Roles: `admin` (central office), `hub` (coordinator of hub A, whose subtree holds `site_id` = ward
A1), `other` (hub B's), `screen` (a paired screen of ward A1, `Authorization: Screen <token>`;
`token=` on a websocket), `anon` (nobody). API routes get bearer tokens, pages the login cookie and
the CSRF field.

Lines name a site in the query (`under_id=`) to check a scope refusal, or none to check the filter:
whatever a role is let in to must show nothing of another subtree (matrix_world.SECRETS).

A cell is `OK` (any 1xx-3xx answer, a websocket accepted, or one of the statuses the line lists as
`ok=` for a request the role may make but whose body or state it refuses, e.g. 409 or 422) or a
`Refused(status, code)`: the status and stable code (for a page, the code shown on the error page;
an anonymous page visit is sent to the login page, which counts as 401 not_authenticated; a
websocket close 44xx counts as xx with its reason as code).
"""

from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

ROLES = ("anon", "screen", "stranger", "other", "hub", "admin")  # refused roles run first


@dataclass(frozen=True)
class Refused:
    status: int
    code: str  # a shell pattern: "*_not_found"
    # Other (status, code) answers that mean the same refusal.
    also: tuple[tuple[int, str], ...] = ()

    def __str__(self) -> str:
        return " or ".join(f"{s} {c}" for s, c in ((self.status, self.code), *self.also))

    def matches(self, status: int, code: str | None) -> bool:
        return any(status == s and fnmatchcase(code or "", c)
                   for s, c in ((self.status, self.code), *self.also))


OK = None  # a cell that must pass authorization
Cell = Refused | None

# A write that checks CSRF before the login refuses a caller without one as csrf_failed.
LOGIN = Refused(401, "not_authenticated", also=((403, "csrf_failed"),))
ADMIN_ONLY = Refused(403, "admin_only")
OUT_OF_SCOPE = Refused(403, "site_out_of_scope")
WS_LOGIN = Refused(401, "invalid_token")
WS_SCOPE = Refused(403, "site_out_of_scope")
# Whatever belongs to a conference the caller takes no part in: not found (or refused).
HIDDEN = Refused(404, "*_not_found", also=((403, "site_out_of_scope"), (403, "admin_only")))
WS_HIDDEN = Refused(404, "not_found", also=((403, "site_out_of_scope"),))
NO_SCREEN = Refused(401, "screen_token_invalid")


@dataclass(frozen=True)
class Rule:
    """What each role gets from one route, and how to call it.

    `body`: JSON (API) or form fields (pages, and API lines with `form=True`); strings
    "{name}" are world values (ints stay ints). `files`: send a small upload in field
    `file` ("csv" a site tree, "roster" attendees, "pdf" a deck, "bank" questions).
    `query`: appended to the path, with "{name}" filled the same way. `use`: path
    parameters filled from another world value (e.g. token=follow_token). `fresh`:
    world values made anew for each request (destructive routes: each role acts on
    its own object). `ok`: statuses besides 1xx-3xx that count as allowed.
    """

    cells: dict[str, Cell]
    body: Any = None
    files: str | None = None
    form: bool = False
    query: str = ""
    use: dict[str, str] = field(default_factory=dict)
    fresh: tuple[str, ...] = ()
    ok: frozenset[int] = frozenset()

    def __call__(self, **changes: Any) -> "Rule":
        """A copy with some fields (or cells, by role name) changed; `ok` takes ints."""
        cells = {r: changes.pop(r) for r in ROLES if r in changes}
        if "ok" in changes:
            ok = changes.pop("ok")
            changes["ok"] = frozenset(ok if isinstance(ok, tuple | set | frozenset) else {ok})
        return replace(self, cells={**self.cells, **cells}, **changes)


def _rule(**cells: Cell) -> Rule:
    return Rule(cells=cells)


PUBLIC = _rule(anon=OK, screen=OK, stranger=OK, other=OK, hub=OK, admin=OK)
# Any account, whatever its conferences (its own profile, lists filtered to its scope).
ACCOUNT = _rule(anon=LOGIN, screen=LOGIN, stranger=OK, other=OK, hub=OK, admin=OK)
# Anyone taking part in the conference (lists filtered to the caller's scope).
USER = ACCOUNT(stranger=HIDDEN)
SCOPED = USER(other=OUT_OF_SCOPE)
ADMIN = USER(stranger=ADMIN_ONLY, other=ADMIN_ONLY, hub=ADMIN_ONLY)
# An attendee outside the caller's subtree is not found rather than forbidden.
ATTENDEE = SCOPED(other=Refused(404, "attendee_not_found"))
# A screen's own routes: a login token is not a screen token.
SCREEN = _rule(anon=NO_SCREEN, screen=OK, stranger=NO_SCREEN, other=NO_SCREEN, hub=NO_SCREEN,
               admin=NO_SCREEN)
# Websockets: the token rides in the query; refusals are close codes.
WS_PUBLIC = PUBLIC
WS_USER = USER(anon=WS_LOGIN, screen=WS_LOGIN, stranger=WS_HIDDEN)

_SITE = {"name": "Xã mới", "kind": "commune", "parent_id": "{site_id}"}
_COORDINATOR = {"username": "newcoord", "password": "password-123", "full_name": "Ngô Văn C"}
_SESSION = {"title": "Phiên chiều", "starts_at": "{today}T13:00:00+07:00",
            "ends_at": "{today}T16:00:00+07:00"}
_ATTENDEE = [{"full_name": "Phạm Văn Dũng", "site_id": "{site_id}"}]
_SCAN = {"code": "{pass_code}", "site_id": "{site_id}"}
_SELF = {"site_token": "{site_token}", "code": "{short_code}"}
_LOGIN = {"username": "admin", "password": "admin-test-password"}
_SITE_FORM = {"name": "Đảng ủy phường Tân Định", "kind": "ward", "code": "HCM-TD"}
# "{serial}" is new on every request: each role registers its own account.
_REGISTRATION = {"site_name": "Phường Sài Gòn", "kind": "ward", "full_name": "Trần Văn Bình",
                 "phone": "0912345678", "username": "sg{serial}", "password": "sg-password-1",
                 "accept_notice": True, "notice_version": 1}
_ACCOUNT = {"user_id": "account_id"}
_PASSWORD = {"current_password": "not-the-password", "new_password": "a-long-new-password-7"}
_TEST = {"picture": True, "sound": True, "link": True}
_ASK = {"site_id": "{site_id}", "topic": "Kinh nghiệm chuyển đổi số",
        "speaker_name": "Trần Văn Bình", "speaker_position": "Bí thư"}
# A bank a pre-test can ask (one scored single choice); the world's makers use it too.
_QUIZ = {"title": "Kiểm tra", "questions": [{"kind": "single", "text": "Hỏi", "options": [
    {"label": "Có", "correct": True}, {"label": "Không"}]}]}
_FORM = {"kind": "pretest", "title": "Đầu vào", "bank_id": "{bank_id}"}

_ANSWERING = {"form_id": "answer_form_id"}  # reopened on each use: a maker (matrix_world)
_ANSWER = {"nonce": "nonce-000{serial}", "device": "device-00{serial}", "site": "{answer_code}",
           "answers": [{"question_id": "{form_question_id}", "options": ["{form_option_id}"]}]}

Route = tuple[str, str]

MATRIX: dict[Route, Rule] = {
    # ---------------------------------------------------------------- app, docs
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    # ------------------------------------------------------------- auth (API)
    ("POST", "/api/v1/auth/token"): PUBLIC(body=_LOGIN, form=True),
    ("POST", "/api/v1/auth/logout"): ACCOUNT(fresh=("login",)),
    ("GET", "/api/v1/auth/me"): ACCOUNT,
    # ------------------------------------------------------- conferences, sites
    ("POST", "/api/v1/conferences"): ADMIN(body={"title": "Hội nghị mới",
                                                  "starts_on": "{today}", "ends_on": "{today}"}),
    ("GET", "/api/v1/conferences"): ACCOUNT,
    ("GET", "/api/v1/conferences/{conference_id}"): USER,
    ("POST", "/api/v1/conferences/{conference_id}/sites"): SCOPED(body=_SITE),
    ("GET", "/api/v1/conferences/{conference_id}/sites"): USER,
    ("GET", "/api/v1/sites/{site_id}"): SCOPED,
    ("PATCH", "/api/v1/sites/{site_id}"): SCOPED(body={"room": "Phòng 1"}),
    ("DELETE", "/api/v1/sites/{site_id}"): ADMIN(fresh=("site_id",)),
    ("POST", "/api/v1/sites/{site_id}/coordinators"): ADMIN(body=_COORDINATOR),
    ("POST", "/api/v1/conferences/{conference_id}/invites"): SCOPED(
        body={"parent_site_id": "{site_id}"}),
    ("GET", "/api/v1/conferences/{conference_id}/invites"): ADMIN,
    ("POST", "/api/v1/invites/{invite_id}/revoke"): ADMIN(fresh=("invite_id",)),
    ("POST", "/api/v1/invites/{token}/register"): PUBLIC(
        body=_REGISTRATION, use={"token": "invite_token"}, fresh=("invite_token",)),
    ("GET", "/api/v1/conferences/{conference_id}/registrations"): ADMIN,
    ("POST", "/api/v1/sites/{site_id}/approve"): ADMIN(ok=409),
    ("POST", "/api/v1/sites/{site_id}/reject"): ADMIN(ok=409),
    ("POST", "/api/v1/conferences/{conference_id}/sites/import"): ADMIN(files="csv", ok=422),
    # ------------------------------------------------------------ privacy notice
    ("GET", "/api/v1/privacy/{conference_id}"): PUBLIC,
    ("GET", "/api/v1/conferences/{conference_id}/privacy"): ADMIN,
    ("PUT", "/api/v1/conferences/{conference_id}/privacy"): ADMIN(body={"retention_days": 90}),
    ("GET", "/privacy/{conference_id}"): PUBLIC,
    ("GET", "/conferences/{conference_id}/privacy"): ADMIN,
    ("POST", "/conferences/{conference_id}/privacy"): ADMIN(
        body={"text": "", "retention_days": "90"}),
    ("POST", "/api/v1/conferences/{conference_id}/participants"): ADMIN(
        body={"site_ids": ["{site_id}"]}, ok=409),
    # ------------------------------------------------------------------ screens
    ("POST", "/api/v1/sites/{site_id}/screen-token"): SCOPED,
    ("POST", "/api/v1/sites/{site_id}/pairing-code"): SCOPED,
    ("POST", "/api/v1/screens/pair"): PUBLIC(body={"code": "{pairing_code}"},
                                             fresh=("pairing_code",)),
    ("GET", "/api/v1/sites/{site_id}/screens"): SCOPED,
    ("DELETE", "/api/v1/screens/{screen_id}"): SCOPED(fresh=("screen_id",)),
    ("GET", "/api/v1/conferences/{conference_id}/screens/online"): USER,
    # -------------------------------------------------------- presence, roll-call
    ("POST", "/api/v1/sites/{site_id}/connection-test"): SCOPED(body=_TEST),
    ("POST", "/api/v1/sites/{site_id}/incidents"): SCOPED(body={"reason": "Mất tiếng"}),
    ("POST", "/api/v1/incidents/{incident_id}/resolve"): SCOPED(fresh=("incident_id",)),
    ("GET", "/api/v1/conferences/{conference_id}/incidents"): USER,
    ("GET", "/api/v1/sites/{site_id}/presence"): SCOPED,
    # ----------------------------------------------------------------- registry
    ("GET", "/api/v1/registry/sites"): ACCOUNT,
    ("POST", "/api/v1/registry/sites"): SCOPED(body=_SITE),
    ("GET", "/api/v1/registry/sites/{site_id}"): SCOPED,
    ("GET", "/api/v1/sites/{site_id}/history"): SCOPED,
    ("POST", "/api/v1/sites/{site_id}/rename"): SCOPED(body={"name": "Phường Tân Định mới"}),
    ("POST", "/api/v1/sites/{site_id}/merge"): ADMIN(body={"into_id": "{spare_site_id}"},
                                                     fresh=("site_id",)),
    ("POST", "/api/v1/sites/{site_id}/retire"): ADMIN(body={}, fresh=("site_id",)),
    ("POST", "/api/v1/sites/{site_id}/restore"): ADMIN(body={}, ok=409),
    ("POST", "/api/v1/registry/units"): ADMIN(body={"province_code": "x"}, ok=422),
    # ------------------------------------------------------------------- pages
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC(body=_LOGIN),
    ("POST", "/logout"): ACCOUNT(fresh=("login",)),
    ("GET", "/conferences"): ACCOUNT,
    ("POST", "/conferences"): ADMIN(body={"title": ""}, ok=422),
    ("GET", "/conferences/{conference_id}/sites"): SCOPED(query="under={site_id}"),
    ("POST", "/conferences/{conference_id}/sites"): SCOPED(body=_SITE),
    ("GET", "/sites/{site_id}"): SCOPED,
    ("POST", "/sites/{site_id}"): SCOPED(body=_SITE_FORM),
    ("POST", "/sites/{site_id}/delete"): ADMIN(fresh=("site_id",)),
    ("POST", "/sites/{site_id}/readiness"): SCOPED(body={"readiness": "ready", "note": "ổn"}),
    ("POST", "/sites/{site_id}/connection-test"): SCOPED(body={"picture": "true"}),
    ("POST", "/sites/{site_id}/coordinators"): ADMIN(body={"username": ""}, ok=422),
    ("GET", "/conferences/{conference_id}/invites"): USER,
    ("POST", "/conferences/{conference_id}/invites"): SCOPED(
        body={"parent_site_id": "{site_id}"}),
    ("POST", "/invites/{invite_id}/revoke"): ADMIN(fresh=("invite_id",)),
    ("GET", "/invite/{token}"): PUBLIC(use={"token": "invite_token"}),
    ("POST", "/invite/{token}"): PUBLIC(
        body={**_REGISTRATION, "password_confirm": "sg-password-1"},
        use={"token": "invite_token"}, fresh=("invite_token",)),
    ("GET", "/conferences/{conference_id}/registrations"): ADMIN,
    ("POST", "/sites/{site_id}/approve"): ADMIN(ok=409),
    ("POST", "/sites/{site_id}/reject"): ADMIN(ok=409),
    ("GET", "/conferences/{conference_id}/sites/import"): ADMIN,
    ("GET", "/conferences/{conference_id}/sites/import/mau.csv"): ADMIN,
    ("POST", "/conferences/{conference_id}/sites/import"): ADMIN(files="csv", ok=422),
    ("GET", "/conferences/{conference_id}/invite-sites"): ADMIN,
    ("POST", "/conferences/{conference_id}/invite-sites"): ADMIN(ok=422),
    ("GET", "/sites/{site_id}/screens"): SCOPED,
    ("POST", "/sites/{site_id}/screens/pairing"): SCOPED,
    ("POST", "/sites/{site_id}/screens/link"): SCOPED,
    ("POST", "/screens/{screen_id}/revoke"): SCOPED(fresh=("screen_id",)),
    ("GET", "/registry/units"): ADMIN,
    ("POST", "/registry/units"): ADMIN(body={"province_code": "x"}, ok=422),
    ("GET", "/registry/sites"): ACCOUNT,
    ("GET", "/sites/{site_id}/history"): SCOPED,
    ("GET", "/screen"): PUBLIC,
    ("GET", "/screen/sw.js"): PUBLIC,
    ("GET", "/screen/pair"): PUBLIC,
    # ---------------------------------------------------------------- sessions
    ("POST", "/api/v1/conferences/{conference_id}/sessions"): ADMIN(body=_SESSION),
    ("GET", "/api/v1/conferences/{conference_id}/sessions"): USER,
    ("GET", "/api/v1/sessions/{session_id}"): USER,
    ("PATCH", "/api/v1/sessions/{session_id}"): ADMIN(body={"title": "Phiên khai mạc"}),
    ("POST", "/api/v1/sessions/{session_id}/close"): ADMIN(fresh=("session_id",)),
    ("POST", "/api/v1/sessions/{session_id}/reopen"): ADMIN(ok=409),
    ("GET", "/api/v1/sessions/{session_id}/agenda"): USER,
    ("POST", "/api/v1/sessions/{session_id}/agenda"): ADMIN(body={"title": "Thảo luận"}),
    ("PUT", "/api/v1/sessions/{session_id}/agenda/order"): ADMIN(
        body={"ids": ["{agenda_item_id}"]}, ok=422),
    ("GET", "/api/v1/agenda-items/{agenda_item_id}"): USER,
    ("PATCH", "/api/v1/agenda-items/{agenda_item_id}"): ADMIN(body={"speaker": "Đ/c Hùng"}),
    ("DELETE", "/api/v1/agenda-items/{agenda_item_id}"): ADMIN(fresh=("agenda_item_id",)),
    ("POST", "/api/v1/agenda-items/{agenda_item_id}/deck"): ADMIN(
        files="pdf", fresh=("agenda_item_id",)),
    ("GET", "/api/v1/agenda-items/{agenda_item_id}/deck"): USER,
    ("PUT", "/api/v1/sessions/{session_id}/state"): ADMIN(
        body={"agenda_item_id": "{agenda_item_id}"}),
    ("GET", "/api/v1/conferences/{conference_id}/stage"): USER,
    ("GET", "/api/v1/conferences/{conference_id}/follow-link"): USER,
    ("GET", "/api/v1/follow/{token}/agenda"): PUBLIC(use={"token": "follow_token"}),
    ("GET", "/decks/{deck_id}/{key}/{page}.png"): PUBLIC,
    ("GET", "/conferences/{conference_id}/sessions"): USER,
    ("POST", "/conferences/{conference_id}/sessions"): ADMIN(body={"title": ""}, ok=422),
    ("GET", "/sessions/{session_id}"): USER,
    ("POST", "/sessions/{session_id}"): ADMIN(body={"title": ""}, ok=422),
    ("POST", "/sessions/{session_id}/close"): ADMIN(fresh=("session_id",)),
    ("POST", "/sessions/{session_id}/reopen"): ADMIN(ok=409),
    ("POST", "/sessions/{session_id}/agenda"): ADMIN(body={"title": ""}, ok=422),
    ("POST", "/agenda-items/{agenda_item_id}"): ADMIN(body={"title": ""}, ok=422),
    ("POST", "/agenda-items/{agenda_item_id}/delete"): ADMIN(fresh=("agenda_item_id",)),
    ("POST", "/agenda-items/{agenda_item_id}/move"): ADMIN(body={"direction": "up"}),
    ("POST", "/agenda-items/{agenda_item_id}/deck"): ADMIN(files="pdf", fresh=("agenda_item_id",)),
    ("GET", "/sessions/{session_id}/console"): ADMIN,
    ("GET", "/sessions/{session_id}/chair"): ADMIN,
    # -------------------------------------------------------------------- floor
    ("POST", "/api/v1/sessions/{session_id}/floor/requests"): SCOPED(body=_ASK),
    ("GET", "/api/v1/sessions/{session_id}/floor/sites/{site_id}"): SCOPED,
    ("POST", "/api/v1/floor/requests/{request_id}/withdraw"): SCOPED(
        use={"request_id": "floor_request_id"}, fresh=("floor_request_id",)),
    ("GET", "/api/v1/sessions/{session_id}/floor"): ADMIN,
    ("POST", "/api/v1/floor/requests/{request_id}/give"): ADMIN(
        body={"limit_seconds": 180}, use={"request_id": "floor_request_id"},
        fresh=("floor_request_id",)),
    ("POST", "/api/v1/floor/requests/{request_id}/decline"): ADMIN(
        body={"reason": "Hết thời gian thảo luận"}, use={"request_id": "floor_request_id"},
        fresh=("floor_request_id",)),
    ("POST", "/api/v1/sessions/{session_id}/floor/end"): ADMIN(ok=409),
    ("PUT", "/api/v1/sessions/{session_id}/floor/limit"): ADMIN(
        body={"limit_seconds": 120}, ok=409),
    ("POST", "/api/v1/sessions/{session_id}/questions"): SCOPED(
        body={"text": "Khi nào có tài liệu?", "site_id": "{site_id}"}),
    ("POST", "/api/v1/questions/{question_id}/moderate"): ADMIN(
        body={"action": "approved"}, fresh=("question_id",)),
    ("PUT", "/api/v1/sessions/{session_id}/questions/shown"): ADMIN(body={"question_id": None}),
    # The minutes: the whole to the central office, a coordinator's subtree to them.
    ("GET", "/api/v1/sessions/{session_id}/minutes.csv"): USER,
    ("GET", "/api/v1/sessions/{session_id}/minutes.xlsx"): USER,
    ("GET", "/sessions/{session_id}/minutes"): USER,
    ("GET", "/api/v1/sites/{site_id}/floor"): SCOPED,
    ("GET", "/sites/{site_id}/floor"): SCOPED,
    ("POST", "/sites/{site_id}/floor"): SCOPED(body={
        "session_id": "{session_id}", "topic": "Kinh nghiệm", "speaker_name": "Trần Văn Bình"}),
    # Withdraws the named request (a spare site's: each role its own) from the site's page.
    ("POST", "/sites/{site_id}/floor/withdraw"): SCOPED(
        body={"request_id": "{floor_request_id}"}, fresh=("floor_request_id",)),
    ("POST", "/sites/{site_id}/floor/questions"): SCOPED(
        body={"session_id": "{session_id}", "text": "Khi nào có tài liệu?"}),
    # The follow link is the credential; the personal code is optional (a wrong one: 403).
    ("POST", "/api/v1/follow/{token}/questions"): PUBLIC(
        body={"text": "Khi nào có tài liệu?", "code": "{short_code}"},
        use={"token": "follow_token"}),
    ("GET", "/follow/{token}"): PUBLIC(use={"token": "follow_token"}),
    # ------------------------------------------ training forms: banks and forms
    ("GET", "/api/v1/conferences/{conference_id}/banks"): ADMIN,
    ("POST", "/api/v1/conferences/{conference_id}/banks"): ADMIN(body=_QUIZ),
    ("POST", "/api/v1/conferences/{conference_id}/banks/import"): ADMIN(files="bank"),
    ("GET", "/api/v1/banks/{bank_id}"): ADMIN,
    ("PUT", "/api/v1/banks/{bank_id}"): ADMIN(body=_QUIZ),
    ("DELETE", "/api/v1/banks/{bank_id}"): ADMIN(fresh=("bank_id",)),
    ("GET", "/api/v1/sessions/{session_id}/forms"): ADMIN,
    ("POST", "/api/v1/sessions/{session_id}/forms"): ADMIN(body=_FORM),
    ("GET", "/api/v1/forms/{form_id}"): ADMIN,
    ("PATCH", "/api/v1/forms/{form_id}"): ADMIN(body={"title": "Đầu ra"}),
    ("DELETE", "/api/v1/forms/{form_id}"): ADMIN(fresh=("form_id",)),
    ("GET", "/conferences/{conference_id}/banks"): ADMIN,
    ("POST", "/conferences/{conference_id}/banks"): ADMIN(body={"title": "Bộ mới"}),
    ("POST", "/conferences/{conference_id}/banks/import"): ADMIN(files="bank"),
    ("GET", "/conferences/{conference_id}/banks/mau.csv"): ADMIN,
    ("GET", "/conferences/{conference_id}/banks/mau.xlsx"): ADMIN,
    ("GET", "/banks/{bank_id}"): ADMIN,
    ("POST", "/banks/{bank_id}"): ADMIN(body={
        "title": "Bộ sửa", "q-1-kind": "single", "q-1-text": "Hỏi", "q-1-opt-1": "Có",
        "q-1-opt-2": "Không", "q-1-correct": "1"}),
    ("POST", "/banks/{bank_id}/delete"): ADMIN(fresh=("bank_id",)),
    ("GET", "/sessions/{session_id}/forms"): ADMIN,
    ("POST", "/sessions/{session_id}/forms"): ADMIN(body=_FORM),
    ("POST", "/forms/{form_id}"): ADMIN(body={"title": "Kiểm tra cuối khoá"}),
    ("POST", "/forms/{form_id}/delete"): ADMIN(fresh=("form_id",)),
    # ------------------------------------------------------------ forms: answers
    # No login: the site's answer code (and a personal code) are the credentials; each
    # role answers from its own phone (a fresh device and nonce).
    ("POST", "/api/v1/forms/{form_id}/answers"): PUBLIC(body=_ANSWER, use=_ANSWERING),
    ("GET", "/api/v1/forms/{form_id}/questions"): PUBLIC(use=_ANSWERING),
    # The phone page of a site's answer link (the QR on the site screen), and its plain
    # form (anonymous CSRF, as the self check-in page): `q<position>` fields. The phone is
    # known by its cookie: anon and screen share one browser, the second gets 409.
    ("GET", "/a/{code}"): PUBLIC(use={"code": "answer_code"}),
    ("POST", "/a/{code}"): PUBLIC(use={"code": "answer_code"}, ok=409,
                                  body={"nonce": "nonce-000{serial}", "q1": "{form_option_id}"}),
    # A room's tally: the coordinator of the site (or above it) or the central office;
    # `q<position>_<letter>` boxes on the page. Nobody is present in the world: zeros.
    ("PUT", "/api/v1/forms/{form_id}/sites/{site_id}/tally"): SCOPED(
        body={"counts": {}}, use=_ANSWERING),
    ("GET", "/api/v1/forms/{form_id}/sites/{site_id}/tally"): SCOPED(use=_ANSWERING),
    ("GET", "/sites/{site_id}/forms/{form_id}/tally"): SCOPED(use=_ANSWERING),
    ("GET", "/sites/{site_id}/forms/tally"): SCOPED,
    ("POST", "/sites/{site_id}/forms/{form_id}/tally"): SCOPED(body={"q1_A": "0"}, use=_ANSWERING),
    # ----------------------------------------------------------------- check-in
    ("POST", "/api/v1/checkins"): SCOPED(body=_SCAN),
    ("POST", "/api/v1/checkins/self"): PUBLIC(body=_SELF),
    ("POST", "/api/v1/checkouts"): SCOPED(body={"attendee_id": "{attendee_id}"}, ok=409),
    ("POST", "/api/v1/conferences/{conference_id}/attendees"): SCOPED(body=_ATTENDEE),
    ("POST", "/api/v1/conferences/{conference_id}/attendees/import"): SCOPED(
        files="roster", other=Refused(422, "import_invalid")),  # outside: "unknown_site" line
    ("GET", "/api/v1/conferences/{conference_id}/attendees"): USER(query="q=kin"),
    ("GET", "/conferences/{conference_id}/attendees/import"): USER,
    ("GET", "/conferences/{conference_id}/attendees/import/mau.csv"): USER,
    ("POST", "/conferences/{conference_id}/attendees/import"): SCOPED(
        files="roster", body={"basis": "unit"},
        other=Refused(422, "import_invalid")),  # outside: "unknown_site" line
    ("GET", "/api/v1/attendees/{attendee_id}"): ATTENDEE,
    ("DELETE", "/api/v1/attendees/{attendee_id}"): ATTENDEE(fresh=("attendee_id",)),
    ("POST", "/api/v1/attendees/{attendee_id}/reissue"): ATTENDEE(fresh=("attendee_id",)),
    ("GET", "/api/v1/attendees/{attendee_id}/pass.png"): ATTENDEE,
    ("GET", "/api/v1/attendees/{attendee_id}/pass.svg"): ATTENDEE,
    ("GET", "/api/v1/pass-keys"): PUBLIC,
    ("GET", "/api/v1/sites/{site_id}/offline-roster"): SCOPED,
    ("GET", "/checkin-sw.js"): PUBLIC,
    ("GET", "/checkin.webmanifest"): PUBLIC(query="site_id={site_id}"),
    ("GET", "/attendees/{attendee_id}/pass"): ATTENDEE,
    ("GET", "/sites/{site_id}/badges"): SCOPED,
    ("GET", "/sites/{site_id}/checkin"): SCOPED,
    ("POST", "/sites/{site_id}/checkin"): SCOPED(body={"code": "{pass_code}"}),
    ("GET", "/c/{site_token}"): PUBLIC,
    ("POST", "/c/{site_token}"): PUBLIC(body={"code": "{short_code}"}),
    ("GET", "/sites/{site_id}/headcount"): SCOPED,
    ("POST", "/sites/{site_id}/headcount"): SCOPED(body={"dai_bieu": "5"}),
    ("GET", "/api/v1/conferences/{conference_id}/reports/attendance.csv"): USER,
    ("GET", "/api/v1/conferences/{conference_id}/reports/attendance.xlsx"): SCOPED(
        query="under_id={site_id}"),
    ("GET", "/api/v1/sites/{site_id}/self-checkin-qr"): SCOPED(screen=OK, anon=NO_SCREEN),
    ("GET", "/api/v1/sites/{site_id}/self-checkin-qr.svg"): SCOPED(screen=OK, anon=NO_SCREEN),
    ("GET", "/api/v1/screen/self-checkin-qr"): SCREEN,
    ("GET", "/api/v1/screen/follow-qr"): SCREEN,
    # ------------------------------------------------------------- training forms
    ("POST", "/api/v1/forms/{form_id}/open"): ADMIN(fresh=("form_id",)),
    ("POST", "/api/v1/forms/{form_id}/close"): ADMIN(ok=409),
    ("POST", "/api/v1/forms/{form_id}/hide"): ADMIN,
    ("POST", "/api/v1/forms/{form_id}/results/show"): ADMIN(ok=409),
    ("GET", "/api/v1/forms/{form_id}/results"): USER,
    ("GET", "/api/v1/forms/{form_id}/count"): ADMIN,
    ("GET", "/api/v1/forms/{form_id}/results/charts"): USER(
        screen=OK, use={"form_id": "shown_form_id"}),
    ("GET", "/api/v1/screen/form-link"): SCREEN,
    ("POST", "/api/v1/sites/{site_id}/headcounts"): SCOPED(body={"counts": {"dai_bieu": 5}}),
    ("GET", "/api/v1/sites/{site_id}/headcounts"): SCOPED,
    ("POST", "/api/v1/sites/{site_id}/sync"): SCOPED(body={"items": [  # item: too old
        {"kind": "ready", "nonce": "m", "at": "2025-01-01T09:00+07:00"}]}),
    ("GET", "/api/v1/conferences/{conference_id}/attendance"): USER,
    ("DELETE", "/api/v1/conferences/{conference_id}/sites/{site_id}"): ADMIN(fresh=("site_id",)),
    ("GET", "/conferences/{conference_id}/report"): USER,
    # The effectiveness report (issue 13): the whole to the central office, a subtree to a hub.
    ("GET", "/api/v1/conferences/{conference_id}/effectiveness"): USER,
    ("GET", "/api/v1/conferences/{conference_id}/effectiveness.csv"): USER,
    ("GET", "/api/v1/conferences/{conference_id}/effectiveness.xlsx"): SCOPED(
        query="under_id={site_id}"),
    ("GET", "/conferences/{conference_id}/effectiveness"): USER,
    ("GET", "/conferences/{conference_id}/effectiveness/print"): SCOPED(
        query="under_id={site_id}"),
    ("GET", "/conferences/{conference_id}/dashboard"): SCOPED(query="under_id={site_id}"),
    ("GET", "/api/v1/conferences/{conference_id}/dashboard"): USER,
    ("GET", "/api/v1/conferences/{conference_id}/dashboard/sites"): SCOPED(
        query="under_id={site_id}"),
    ("GET", "/api/v1/conferences/{conference_id}/missing"): USER,
    # The conference is running: a purge is refused (409 conference_not_ended) past who may ask.
    ("GET", "/api/v1/conferences/{conference_id}/retention"): ADMIN,
    ("POST", "/api/v1/conferences/{conference_id}/purge"): ADMIN(body={}, ok=409),
    # ------------------------------------------------- data subject's rights
    ("GET", "/api/v1/attendees/{attendee_id}/data"): ATTENDEE,
    ("GET", "/api/v1/attendees/{attendee_id}/data.csv"): ATTENDEE,
    ("GET", "/api/v1/attendees/{attendee_id}/link"): ATTENDEE,
    ("PATCH", "/api/v1/attendees/{attendee_id}"): ATTENDEE(body={"unit": "Sở Nội vụ"}),
    ("POST", "/api/v1/attendees/{attendee_id}/erase"): ATTENDEE(fresh=("attendee_id",)),
    ("GET", "/api/v1/data-requests"): ADMIN,
    ("POST", "/api/v1/data-requests/{request_id}/correct"): ADMIN(
        body={"unit": "Sở Nội vụ"}, fresh=("request_id",)),
    ("POST", "/api/v1/data-requests/{request_id}/erase"): ADMIN(fresh=("request_id",)),
    ("POST", "/api/v1/data-requests/{request_id}/refuse"): ADMIN(
        body={"reason": "Không đủ căn cứ"}, fresh=("request_id",)),
    ("GET", "/data-requests"): ADMIN,
    ("POST", "/data-requests/{request_id}/correct"): ADMIN(
        body={"full_name": "Nguyễn Văn Kín", "unit": "Sở Nội vụ"}, fresh=("request_id",)),
    ("POST", "/data-requests/{request_id}/erase"): ADMIN(fresh=("request_id",)),
    ("POST", "/data-requests/{request_id}/refuse"): ADMIN(
        body={"reason": "Không đủ căn cứ"}, fresh=("request_id",)),
    # The attendee's own pages: the link is the credential, the personal code the second.
    ("GET", "/p/{token}"): PUBLIC(use={"token": "own_token"}),
    ("POST", "/p/{token}"): PUBLIC(body={"code": "{short_code}"}, use={"token": "own_token"}),
    ("POST", "/p/{token}/requests"): PUBLIC(
        body={"code": "{short_code}", "kind": "correct", "message": "Sửa đơn vị"},
        use={"token": "own_token"}, ok=409),  # one open request of a kind at a time
    # --------------------------------------------------------------- accounts
    ("GET", "/api/v1/accounts"): ADMIN,
    ("POST", "/api/v1/accounts/{user_id}/disable"): ADMIN(use=_ACCOUNT, fresh=("account_id",)),
    ("POST", "/api/v1/accounts/{user_id}/enable"): ADMIN(use=_ACCOUNT, ok=409),
    ("POST", "/api/v1/accounts/{user_id}/logout"): ADMIN(use=_ACCOUNT, fresh=("account_id",)),
    ("POST", "/api/v1/accounts/{user_id}/reset-link"): ADMIN(use=_ACCOUNT,
                                                             fresh=("account_id",)),
    # A wrong current password: who may try is checked, nobody's password changes.
    ("POST", "/api/v1/auth/password"): ACCOUNT(body=_PASSWORD, ok=422),
    ("POST", "/api/v1/auth/password-reset"): PUBLIC(
        body={"token": "{reset_token}", "new_password": "x"}, ok=422),
    ("GET", "/accounts"): ADMIN,
    ("POST", "/accounts/{user_id}/{action}"): ADMIN(
        use={**_ACCOUNT, "action": "account_action"}, fresh=("account_id",)),
    # --------------------------------------------------------------- audit log
    ("GET", "/api/v1/audit"): ADMIN,
    ("GET", "/api/v1/audit.csv"): ADMIN,
    ("GET", "/audit"): ADMIN,
    ("GET", "/audit.csv"): ADMIN,
    ("GET", "/account/password"): ACCOUNT,
    ("POST", "/account/password"): ACCOUNT(
        body={**_PASSWORD, "confirm_password": _PASSWORD["new_password"]}, ok=422),
    ("GET", "/password-reset/{token}"): PUBLIC(use={"token": "reset_token"}),
    ("POST", "/password-reset/{token}"): PUBLIC(
        use={"token": "reset_token"}, body={"new_password": "x", "confirm_password": "x"},
        ok=422),
    # --------------------------------------------------------------- links and keys
    ("POST", "/api/v1/conferences/{conference_id}/follow-link/rotate"): ADMIN,
    ("POST", "/conferences/{conference_id}/follow-link/rotate"): ADMIN,
    # The signing key: refused (409 pass_key_active) once past who may ask.
    ("POST", "/api/v1/pass-keys/{kid}/revoke"): ADMIN(ok=409),
    # --------------------------------------------------------------- websockets
    ("WS", "/ws/screen"): SCREEN(anon=WS_LOGIN, stranger=WS_LOGIN, other=WS_LOGIN, hub=WS_LOGIN,
                                 admin=WS_LOGIN),
    ("WS", "/ws/follow"): WS_PUBLIC(query="token={follow_token}"),
    ("WS", "/ws/dashboard"): WS_USER(other=WS_SCOPE,
                                     query="conference_id={conference_id}&under_id={site_id}"),
    ("WS", "/ws/floor"): WS_USER(stranger=ADMIN_ONLY, other=ADMIN_ONLY, hub=ADMIN_ONLY,
                                 query="session_id={session_id}"),
}
