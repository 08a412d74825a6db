"""The forms bench's world: what it seeds in diemcau's database, and the answers it sends.

Seeding is direct and fast (the roster, the bank and the screens are bulk rows, not API
calls): the conference, its national-shaped tree and the session on stage come from
`bench.floor`'s seeding (through the service layer, as the floor bench does); then a
bank of single-choice questions (one correct option each) and a pre-test form on that
session (draft: the bench opens it as the presenter does), the attendees with personal
codes spread over the invited sites, one enrolled screen for each of the first
`screens` sites (token hashes, as `endpoints.screens` stores them).
"""

import math
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from bench.floor import SECRET, _tree_and_session

OPTIONS = 4


@dataclass
class World:
    """Everything the load needs to know of a seeded database."""

    form_id: int
    questions: list[tuple[int, list[int]]]  # question id, its option ids
    attendees: list[tuple[int, str, int]]  # attendee id, personal code, site id
    screens: list[tuple[int, str]]  # site id, its screen's token
    sites: list[int]
    session_id: int = 0
    admin_token: str = ""
    seconds: float = 0.0


@dataclass
class Item:
    """One answer request of the schedule. kind: 0 the attendee's answer, 1 the same
    answer again (same nonce: a phone that lost the response), 2 another nonce of the
    same attendee (a second phone): 201, 200 and 409 when they arrive in this order."""

    index: int
    at: float
    attendee: int
    site: int
    nonce: str
    kind: int
    body: dict[str, Any] = field(repr=False)


def _codes(n: int, rng: random.Random) -> list[str]:
    from checkin.models import SHORT_CODE_ALPHABET, SHORT_CODE_LENGTH

    found: dict[str, None] = {}
    while len(found) < n:
        found.setdefault("".join(rng.choices(SHORT_CODE_ALPHABET, k=SHORT_CODE_LENGTH)))
    return list(found)


def _bank_and_form(db: Any, conference_id: int, session_id: int, questions: int,
                   rng: random.Random) -> tuple[int, list[tuple[int, list[int]]]]:
    from sessions.form_models import (
        BankOption,
        BankQuestion,
        FormKind,
        QuestionBank,
        QuestionKind,
        TrainingForm,
    )

    bank = QuestionBank(conference_id=conference_id, title="Kiểm tra chuyển đổi số")
    db.add(bank)
    db.flush()
    assert bank.id is not None
    asked: list[tuple[int, list[int]]] = []
    for position in range(1, questions + 1):
        question = BankQuestion(bank_id=bank.id, position=position, kind=QuestionKind.single,
                                text=f"Câu hỏi số {position} về chuyển đổi số cấp xã?")
        db.add(question)
        db.flush()
        assert question.id is not None
        right = rng.randint(1, OPTIONS)
        options = [BankOption(question_id=question.id, position=p, label=f"Phương án {p}",
                              correct=p == right) for p in range(1, OPTIONS + 1)]
        db.add_all(options)
        db.flush()
        asked.append((int(question.id), [int(o.id) for o in options]))  # type: ignore[arg-type]
    form = TrainingForm(conference_id=conference_id, session_id=session_id, bank_id=bank.id,
                        kind=FormKind.pretest, title="Kiểm tra đầu vào")
    db.add(form)
    db.commit()
    return int(form.id), asked  # type: ignore[arg-type]


def _attendees(db: Any, conference_id: int, sites: list[int], n: int,
               rng: random.Random) -> list[tuple[int, str, int]]:
    """`n` attendees with personal codes, each at a random site, in bulk."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from app.db import utcnow
    from app.text import search_key
    from checkin.models import Attendee
    from checkin.roster import sort_key

    names = [f"Nguyễn Văn {given}" for given in ("An", "Bình", "Cường", "Dũng", "Hà", "Lan")]
    keys = {name: (search_key(name), sort_key(name)) for name in names}
    now = utcnow()
    codes = _codes(n, rng)
    rows = []
    for code in codes:
        name = rng.choice(names)
        rows.append({"conference_id": conference_id, "site_id": rng.choice(sites),
                     "full_name": name, "name_key": keys[name][0], "sort_key": keys[name][1],
                     "short_code": code, "pass_version": 1, "revoked": False,
                     "created_at": now})
    for start in range(0, n, 10_000):
        db.execute(insert(Attendee.__table__), rows[start:start + 10_000])  # type: ignore[attr-defined]
    db.commit()
    found = db.exec(select(Attendee.short_code, Attendee.id, Attendee.site_id).where(
        Attendee.conference_id == conference_id).order_by(col(Attendee.id))).all()
    return [(int(i), code, int(site)) for code, i, site in found]


def _screens(db: Any, sites: list[int]) -> list[tuple[int, str]]:
    """One enrolled screen per site, as `endpoints.screens` stores it (the hash only)."""
    from sqlalchemy import insert

    from app.db import utcnow
    from app.security import hash_token
    from endpoints.screen_models import ScreenDevice

    now = utcnow()
    tokens = [(site, "scr_" + secrets.token_urlsafe(32)) for site in sites]
    db.execute(insert(ScreenDevice.__table__), [  # type: ignore[attr-defined]
        {"site_id": site, "name": f"Màn hình {site}", "token_hash": hash_token(token),
         "enrolled_at": now, "revoked": False, "created_at": now} for site, token in tokens])
    db.commit()
    return tokens


def seed(db_url: str, *, sites: int, attendees: int, screens: int, questions: int) -> World:
    """Seed an empty migrated database; the world the load runs in."""
    from sqlmodel import Session

    from app.db import create_db_engine
    from app.security import create_access_token
    from endpoints import imports

    clock = time.perf_counter()
    rng = random.Random(20261207)
    engine = create_db_engine(db_url, pool_size=2)
    with Session(engine, expire_on_commit=False) as db:
        admin = imports.admin_account(db)
        assert admin.id is not None
        cid, sid, site_ids = _tree_and_session(db, admin, sites)
        form_id, asked = _bank_and_form(db, cid, sid, questions, rng)
        roster = _attendees(db, cid, site_ids, attendees, rng)
        tokens = _screens(db, site_ids[:screens])
        admin_token = create_access_token(secret=SECRET, user_id=admin.id,
                                          version=admin.token_version)
    engine.dispose()
    return World(form_id, asked, roster, tokens, site_ids, sid, admin_token,
                 time.perf_counter() - clock)


def synthetic(*, sites: int, attendees: int, screens: int, questions: int) -> World:
    """A world without diemcau's database, for a run against the reference alone."""
    rng = random.Random(20261207)
    site_ids = list(range(100, 100 + sites))
    asked = [(q, [q * 10 + o for o in range(OPTIONS)]) for q in range(1, questions + 1)]
    roster = [(i, code, rng.choice(site_ids))
              for i, code in enumerate(_codes(attendees, rng), start=1)]
    tokens = [(site, "scr_" + secrets.token_urlsafe(32)) for site in site_ids[:screens]]
    return World(1, asked, roster, tokens, site_ids)


def arrival(k: int, n: int, seconds: float, peak: float) -> float:
    """When the k-th (from 0) of `n` answers goes: a trapezoid of rate that climbs to
    `peak`, holds it and falls back, with area `n` over `seconds` (flat when n = peak ×
    seconds, as in the full scenario: 150,000 at 500/s over 300 s)."""
    ramp = min(seconds / 2, max(0.0, seconds - n / peak))
    peak = n / (seconds - ramp)
    a, up = k + 0.5, peak * ramp / 2
    if a <= up:
        return math.sqrt(2 * a * ramp / peak)
    if a <= n - up:
        return ramp + (a - up) / peak
    return seconds - math.sqrt(2 * (n - a) * ramp / peak)


def schedule(world: World, *, seconds: float, rate: float, replay_share: float,
             second_share: float, rng: random.Random) -> list[Item]:
    """Every attendee answers once on the rate profile (in random order); a share sends
    the same answer again 1-3 s later, a share answers again from another phone."""
    from app.config import Settings
    from checkin.answer_links import site_answer_code

    settings = Settings(secret_key=SECRET)
    site_codes = {site: site_answer_code(site, settings) for site in world.sites}
    order = rng.sample(world.attendees, len(world.attendees))
    items: list[Item] = []

    def add(at: float, attendee: tuple[int, str, int], nonce: str, kind: int) -> None:
        body = {"nonce": nonce, "code": attendee[1], "site": site_codes[attendee[2]],
                "answers": [{"question_id": q, "options": [rng.choice(options)]}
                            for q, options in world.questions]}
        items.append(Item(0, at, attendee[0], attendee[2], nonce, kind, body))

    for k, attendee in enumerate(order):
        add(arrival(k, len(order), seconds, rate), attendee, secrets.token_urlsafe(12), 0)
    for first in rng.sample(items, int(len(items) * replay_share)):
        items.append(Item(0, first.at + rng.uniform(1, 3), first.attendee, first.site,
                          first.nonce, 1, first.body))
    for first in rng.sample(items[:len(order)], int(len(order) * second_share)):
        add(first.at + rng.uniform(1, 3), (first.attendee, first.body["code"], first.site),
            secrets.token_urlsafe(12), 2)
    items.sort(key=lambda item: item.at)
    for index, item in enumerate(items):
        item.index = index
    return items


def address(site_id: int) -> str:
    """Each site's phones behind one NAT of its own (X-Forwarded-For, trusted from
    127.0.0.1 as behind the reverse proxy): per-address limits count sites apart."""
    return f"10.{site_id >> 16 & 255}.{site_id >> 8 & 255}.{site_id & 255}"
