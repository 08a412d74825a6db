"""Helpers shared by the registry's tests: page login, CSRF form posts, invites,
and reading a site's participation in a conference."""

import re

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.deps import csrf_token_from
from endpoints.invite_models import Registration
from endpoints.models import Participation


def registration(**over: object) -> Registration:
    """A valid registration form, with some fields changed."""
    data: dict[str, object] = {
        "site_name": "Đảng ủy phường Sài Gòn",
        "kind": "ward",
        "room": "Phòng họp tầng 2",
        "expected_attendees": 60,
        "full_name": "Trần Văn Bình",
        "phone": "0912345678",
        "username": "saigon",
        "password": "saigon-password",
        "accept_notice": True,
        "notice_version": 1,
    }
    data.update(over)
    return Registration.model_validate(data)


INVITE_LINK = re.compile(r"http://testserver/invite/([A-Za-z0-9_-]+)")
REGISTRATION = {
    "site_name": "Đảng ủy phường Sài Gòn",
    "kind": "ward",
    "room": "Hội trường tầng 2",
    "expected_attendees": "85",
    "connection_link": "https://meet.example.vn/sg",
    "full_name": "Trần Văn Bình",
    "phone": "0912 345 678",
    "username": "saigon",
    "password": "sg-password-1",
    "password_confirm": "sg-password-1",
    "accept_notice": "1",
    "notice_version": "1",
}


def client_settings(client: TestClient) -> Settings:
    """The settings of the app a test client talks to."""
    app = client.app
    assert isinstance(app, FastAPI)
    settings: Settings = app.state.settings
    return settings


def csrf(client: TestClient) -> str:
    """The CSRF token the app's pages give this client: bound to its login cookie, else to
    its anonymous cookie (obtained the way a browser gets it: by opening the login page)."""
    settings = client_settings(client)
    token = csrf_token_from(dict(client.cookies), settings)
    if token is None:
        client.get("/login")
        token = csrf_token_from(dict(client.cookies), settings)
    assert token is not None, "the login page sets the anonymous cookie"
    return token


def login(client: TestClient, username: str, password: str) -> str:
    """Log in through the form; returns where the login redirected to."""
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def post(client: TestClient, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    """A form post carrying the CSRF field, without following the redirect."""
    data = {**(data or {}), "csrf_token": csrf(client)}
    response: httpx.Response = client.post(url, data=data, follow_redirects=False)
    return response


def create_invite(client: TestClient, conference_id: int, parent_id: int) -> str:
    """Create an invite through the page; returns its token, read from the link shown."""
    r = post(client, f"/conferences/{conference_id}/invites",
             {"parent_site_id": str(parent_id), "suggested_kind": "ward", "note": "Phường mới"})
    assert r.status_code == 201, r.text
    match = INVITE_LINK.search(r.text)
    assert match, "the full invite link is shown after creation"
    return match.group(1)



def participation(db: Session, conference_id: int, site_id: int) -> Participation:
    """A site's participation in a conference as stored now (a fresh snapshot)."""
    db.rollback()
    found = db.exec(select(Participation).where(
        Participation.conference_id == conference_id, Participation.site_id == site_id
    )).first()
    assert found is not None, (conference_id, site_id)
    return found
