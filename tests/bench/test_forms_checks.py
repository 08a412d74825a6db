"""The forms bench's rules catch what they are there for: an answer stored twice or lost,
a 200 that was no resend, a screen showing a wrong count, a count never shown."""

import random
from collections.abc import Callable
from typing import Any

import pytest

from bench.forms_checks import Stored, checks, figures, lags
from bench.forms_world import Item, World, arrival, schedule


def _world() -> World:
    return World(form_id=7, questions=[(1, [11, 12]), (2, [21, 22])],
                 attendees=[(1, "AAAAAAAA", 100), (2, "BBBBBBBB", 100), (3, "CCCCCCCC", 101)],
                 screens=[(100, "t100"), (101, "t101")], sites=[100, 101])


def _run(replay: float = 0.0, second: float = 0.0) -> tuple[list[Item], list[list[float]]]:
    """A schedule and the results a correct server gives (201, then 200 / 409)."""
    items = schedule(_world(), seconds=3, rate=1, replay_share=replay, second_share=second,
                     rng=random.Random(1))
    results: list[list[float]] = []
    stored_nonce: dict[int, str] = {}
    for item in items:
        first = stored_nonce.setdefault(item.attendee, item.nonce)
        status = 201 if item.kind == 0 else 200 if item.nonce == first else 409
        results.append([item.index, item.at, 0.01, 0.01, status, 1, 1000.0 + item.at])
    return items, results


def _screens(counts: dict[int, int], at: float = 1010.0) -> list[list[Any]]:
    return [[site, [[at, n]] if n else [], 0] for site, n in counts.items()]


def test_a_correct_run_passes_every_rule() -> None:
    items, results = _run(replay=1.0, second=0.67)
    stored = Stored(3, {100: 2, 101: 1}, 0, 6)
    screens = _screens({100: 2, 101: 1})
    held = checks(items, results, screens, stored, 2, figures(items, results, screens, 1000))
    assert all(held.values()), held
    assert {r[4] for r in results} == {200, 201, 409}


@pytest.mark.parametrize(("rule", "change"), [
    ("no_attendee_twice", lambda items, results, s: setattr(s, "duplicates", 1)),
    ("stored_equals_201s", lambda items, results, s: setattr(s, "answers", 4)),
    ("all_choices_stored", lambda items, results, s: setattr(s, "choices", 5)),
    ("one_answer_per_attendee", lambda items, results, s: results[0].__setitem__(4, 409)),
    ("only_201_200_409", lambda items, results, s: results[0].__setitem__(4, 500)),
    ("all_sent", lambda items, results, s: results.pop()),
])
def test_each_broken_rule_fails(
    rule: str, change: Callable[[list[Item], list[list[float]], Stored], Any]
) -> None:
    items, results = _run()
    stored = Stored(3, {100: 2, 101: 1}, 0, 6)
    change(items, results, stored)
    screens = _screens({100: 2, 101: 1})
    held = checks(items, results, screens, stored, 2, figures(items, results, screens, 1000))
    assert held[rule] is False


def test_a_200_without_a_resend_and_a_409_of_the_stored_nonce_fail() -> None:
    stored = Stored(3, {100: 2, 101: 1}, 0, 6)
    screens = _screens({100: 2, 101: 1})
    items, results = _run(replay=1.0)
    replay = next(r for r in results if items[int(r[0])].kind == 1)
    replay[4] = 409  # "another nonce" when it is the stored one
    held = checks(items, results, screens, stored, 2, figures(items, results, screens, 1000))
    assert held["every_409_another_nonce"] is False
    items, results = _run()
    results[0][4] = 200  # "the same answer again" to the only request of its nonce
    held = checks(items, results, screens, stored, 2, figures(items, results, screens, 1000))
    assert held["every_200_a_resend"] is False


def test_screens_behind_the_database_fail() -> None:
    items, results = _run()
    stored = Stored(3, {100: 2, 101: 1}, 0, 6)
    screens = _screens({100: 1, 101: 1})
    held = checks(items, results, screens, stored, 2, figures(items, results, screens, 1000))
    assert held["screens_show_stored_counts"] is False
    assert held["every_answer_shown"] is False
    assert checks(items, results, screens, stored, 1,
                  figures(items, results, screens, 1000))["all_screens_held"] is False


def test_lag_runs_from_the_kth_acknowledgement_to_a_count_of_k() -> None:
    items, results = _run()
    site_100 = sorted(r[6] for r in results if items[int(r[0])].site == 100)
    screens = [[100, [[site_100[0] + 0.2, 1], [site_100[1] + 0.5, 2]], 0], [101, [], 0]]
    shown, never = lags(items, results, screens)
    assert sorted(round(x) for x in shown) == [200, 500]
    assert never == 1  # site 101's answer never reached its screen


def test_the_rate_profile_sends_everyone_in_time_without_passing_the_peak() -> None:
    n, seconds, peak = 30_000, 60.0, 600.0
    times = [arrival(k, n, seconds, peak) for k in range(n)]
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= seconds
    per_second = [0] * int(seconds)
    for t in times:
        per_second[min(int(t), int(seconds) - 1)] += 1
    assert max(per_second) <= peak + 1
    assert per_second[0] < per_second[30]  # it climbs to the peak
    flat = [arrival(k, 1500, 3.0, 500.0) for k in range(1500)]
    assert flat[1] - flat[0] == pytest.approx(1 / 500)
