"""The demo's attendees: deterministic, realistic Vietnamese people for each demo site.

Pure (no database, no domain): `people_for` draws, from a generator seeded with the
site's code, a full name (họ, tên đệm, tên with diacritics, by gender), a unit that fits
the kind of site, a position, and a mobile number for about half of them. The same
code always gives the same people, so `diemcau demo` shows the same roster every time.
"""

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DATA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "demo_data" / "people.json").read_text(encoding="utf-8")
)
SEED = "diemcau-demo-2025"
#: Attendees on the roster per expected attendee (the rest are walk-ins and guests).
ROSTER_SHARE = 0.1
MIN_PER_SITE = 3

# The group of a kind of site: which units and leaders its people have.
_GROUPS = {"ward": "local", "commune": "local", "special_zone": "local", "hub": "city",
           "central": "central", "department": "department"}


@dataclass(frozen=True)
class Person:
    full_name: str
    unit: str
    position: str
    phone: str | None


def roster_size(expected: int) -> int:
    """How many of a site's expected attendees the demo roster names."""
    return max(MIN_PER_SITE, round(expected * ROSTER_SHARE))


def _full_name(rng: random.Random) -> str:
    family, weights = zip(*_DATA["family"], strict=True)
    gender = rng.choice(("male", "female"))
    middle = rng.choice(_DATA["middle"][gender])
    if gender == "female" and middle == "Thị" and rng.random() < 0.3:
        middle = f"Thị {rng.choice(_DATA['middle']['female_second'])}"  # Nguyễn Thị Thu Hà
    given = rng.choice(_DATA["given"][gender])
    while given == middle.split()[-1]:  # not "Hồ Minh Minh"
        given = rng.choice(_DATA["given"][gender])
    return f"{rng.choices(family, weights)[0]} {middle} {given}"


def _phone(rng: random.Random) -> str | None:
    if rng.random() < 0.5:
        return None
    rest = f"{rng.randrange(10_000_000):07d}"
    return f"{rng.choice(_DATA['mobile_prefixes'])} {rest[:3]} {rest[3:]}"


def people_for(*, code: str, name: str, kind: str, expected: int) -> list[Person]:
    """The demo roster of one site (the same every time for the same code)."""
    rng = random.Random(f"{SEED}:{code}")  # noqa: S311 - sample data, seeded on purpose
    group = _GROUPS.get(kind, "organization")
    # "Đảng ủy phường Sài Gòn": a local unit names its site in lower case.
    site = name[:1].lower() + name[1:] if group == "local" else name
    people = []
    for number in range(roster_size(expected)):
        if number < len(_DATA["leaders"][group]):
            unit, position = _DATA["leaders"][group][number]
        else:
            unit = rng.choice(_DATA["units"][group])
            position = rng.choice(_DATA["positions"])
        people.append(Person(full_name=_full_name(rng), unit=str(unit).format(site=site),
                             position=str(position), phone=_phone(rng)))
    return people
