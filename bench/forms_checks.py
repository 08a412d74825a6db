"""The forms bench's figures and rules: what the phones and screens saw against what the
database holds (the same for diemcau and the reference).

Results rows (bench/forms_client.py): [index, at, latency_s, service_s, status, attempts,
done]; screens: [site_id, [[received, count], ...], drops]. Times are epoch seconds on
the one host's clock.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bench.forms_world import Item
from bench.procs import pct

INDEX, AT, LATENCY, SERVICE, STATUS, ATTEMPTS, DONE = range(7)


@dataclass
class Stored:
    """What the database holds for the form."""

    answers: int
    per_site: dict[int, int]
    duplicates: int  # attendees with more than one answer
    choices: int


def stored(url: str, form_id: int) -> Stored:
    """Count the form's answers and choice rows, directly in the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    where = {"f": form_id}
    with engine.connect() as conn:
        answers = conn.execute(text("SELECT count(*) FROM form_answer WHERE form_id = :f"),
                               where).scalar_one()
        per_site = conn.execute(text("SELECT site_id, count(*) FROM form_answer WHERE"
                                     " form_id = :f GROUP BY site_id"), where).all()
        duplicates = conn.execute(text(
            "SELECT count(*) FROM (SELECT attendee_id FROM form_answer WHERE form_id = :f"
            " AND attendee_id IS NOT NULL GROUP BY attendee_id HAVING count(*) > 1) AS d"),
            where).scalar_one()
        choices = conn.execute(text("SELECT count(*) FROM form_choice WHERE form_id = :f"),
                               where).scalar_one()
    engine.dispose()
    return Stored(int(answers), {int(s): int(n) for s, n in per_site}, int(duplicates),
                  int(choices))


def acknowledged(items: list[Item], results: list[list[float]]) -> dict[int, float]:
    """Per attendee, when their phone first knew the answer was stored (a 201, or a 200
    to a resend of the stored nonce)."""
    first: dict[int, float] = {}
    for r in results:
        if r[STATUS] in (200, 201):
            attendee = items[int(r[INDEX])].attendee
            first[attendee] = min(first.get(attendee, math.inf), r[DONE])
    return first


def lags(items: list[Item], results: list[list[float]],
         screens: list[list[Any]]) -> tuple[list[float], int]:
    """For the k-th answer acknowledged at a site, ms from its acknowledgement to the
    site's screen first showing a count ≥ k (0 when it showed it first); how many never."""
    site_of = {i.attendee: i.site for i in items}
    by_site: dict[int, list[float]] = defaultdict(list)
    for attendee, done in acknowledged(items, results).items():
        by_site[site_of[attendee]].append(done)
    found: list[float] = []
    never = 0
    for site_id, seen, _ in screens:
        j = 0
        for k, done in enumerate(sorted(by_site.get(site_id, [])), start=1):
            while j < len(seen) and seen[j][1] < k:
                j += 1
            if j == len(seen):
                never += 1
            else:
                found.append(max(0.0, seen[j][0] - done) * 1000)
    return found, never


def _busiest_second(times: list[float]) -> int:
    """The most events in any 1-s window (sliding)."""
    ordered, most, i = sorted(times), 0, 0
    for j, t in enumerate(ordered):
        while t - ordered[i] >= 1.0:
            i += 1
        most = max(most, j - i + 1)
    return most


def figures(items: list[Item], results: list[list[float]], screens: list[list[Any]],
            start: float) -> dict[str, Any]:
    """Rates, latency percentiles (ms, from each answer's scheduled moment) and lags."""
    latencies = [r[LATENCY] * 1000 for r in results if r[STATUS]]
    statuses: dict[int, int] = defaultdict(int)
    for r in results:
        statuses[int(r[STATUS])] += 1
    # The achieved rate: the attendees' own answers over their span (resends come later).
    first = [r for r in results if items[int(r[INDEX])].kind == 0]
    last = max((r[DONE] for r in first), default=start)
    shown, never = lags(items, results, screens)
    return {
        "requests": len(results), "rate": len(first) / max(last - start, 1e-9),
        "peak": _busiest_second([r[DONE] for r in results if r[STATUS] == 201]),
        "p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99),
        "max": max(latencies, default=math.nan), "statuses": dict(sorted(statuses.items())),
        "retried": sum(1 for r in results if r[ATTEMPTS] > 1),
        "screens": len(screens), "drops": sum(s[2] for s in screens),
        "messages": sum(len(s[1]) for s in screens),
        "max_per_second": max((_busiest_second([t for t, _ in s[1]]) for s in screens),
                              default=0),
        "lags": len(shown), "lag_p50": pct(shown, 50), "lag_p99": pct(shown, 99),
        "lag_max": max(shown, default=math.nan), "never_shown": never,
    }


def _answer_rules(items: list[Item], results: list[list[float]],
                  found: Stored) -> dict[str, bool]:
    """Exactly once: one stored nonce per attendee, every 200 a resend of it, every 409
    another nonce, the database holding exactly those."""
    sent: dict[str, int] = defaultdict(int)
    for r in results:
        sent[items[int(r[INDEX])].nonce] += int(r[ATTEMPTS])
    kept: dict[int, set[str]] = defaultdict(set)  # attendee: the nonces that got a 201
    for r in results:
        item = items[int(r[INDEX])]
        # A 200 after a network error may be the only word of a stored answer.
        if r[STATUS] == 201 or (r[STATUS] == 200 and r[ATTEMPTS] > 1):
            kept[item.attendee].add(item.nonce)
    answered = {i.attendee for i in items}
    resends = [items[int(r[INDEX])] for r in results if r[STATUS] == 200]
    seconds = [items[int(r[INDEX])] for r in results if r[STATUS] == 409]
    created = sum(1 for r in results if r[STATUS] == 201)
    questions = len(items[0].body["answers"]) if items else 0
    return {
        "all_sent": len(results) == len(items),
        "only_201_200_409": all(int(r[STATUS]) in (200, 201, 409) for r in results),
        "one_answer_per_attendee": all(len(kept.get(a, ())) == 1 for a in answered),
        "stored_equals_201s": found.answers == len(answered)
        and created <= found.answers <= created + sum(1 for r in results if r[ATTEMPTS] > 1),
        "no_attendee_twice": found.duplicates == 0,
        "every_200_a_resend": all(i.nonce in kept[i.attendee] and sent[i.nonce] > 1
                                  for i in resends),
        "every_409_another_nonce": all(i.nonce not in kept[i.attendee] for i in seconds),
        "all_choices_stored": found.choices == questions * found.answers,
    }


def checks(items: list[Item], results: list[list[float]], screens: list[list[Any]],
           found: Stored, connected: int, f: dict[str, Any]) -> dict[str, bool]:
    """Every rule of the run, by name: True when it holds."""
    return {
        **_answer_rules(items, results, found),
        "all_screens_held": connected == len(screens) > 0,
        "screens_show_stored_counts": all((seen[-1][1] if seen else 0)
                                          == found.per_site.get(site, 0)
                                          for site, seen, _ in screens),
        "every_answer_shown": f["never_shown"] == 0,
    }
