"""The effectiveness report on SQLite and PostgreSQL: the hand-checked numbers of
tests/checkin/effect_world.py at every level, rollups from sums (never averages of
averages), the totals against a direct count of the stored rows at every level of the
site tree, a coordinator's subtree, the choice of the pair, the most-wrong questions."""

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import User
from checkin import effectiveness, keys
from checkin.effectiveness_rows import EffectRow, Figures, select_rows
from checkin.errors import EffectPairNotFound
from endpoints import errors as endpoints_errors
from tests.checkin.effect_world import EffectWorld, make_effect_world
from tests.checkin.support import Roster, make_roster
from tests.conftest import Tree


@pytest.fixture
def wdb(engine: Engine) -> Iterator[Session]:
    """A session that writes like the app's (BEGIN IMMEDIATE on SQLite)."""
    keys.forget(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def roster(wdb: Session, admin: User, tree: Tree) -> Roster:
    return make_roster(wdb, admin, tree)


@pytest.fixture
def world(wdb: Session, admin: User, tree: Tree, roster: Roster) -> EffectWorld:
    return make_effect_world(wdb, admin, tree, roster)


def _by_site(rows: list[EffectRow]) -> dict[int | None, Figures]:
    return {r.site_id: r.figures for r in rows}


def _derived(f: Figures, post_id: int) -> tuple[object, ...]:
    return (f.present, f.participation(post_id), f.pre_mean, f.post_mean, f.change, f.gain,
            f.pairs, f.paired_change, f.satisfaction)


def test_the_numbers_of_a_hand_checked_world_per_site(
    wdb: Session, admin: User, tree: Tree, world: EffectWorld
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin)
    assert report.pre is not None and report.pre.id == world.pre
    assert report.post is not None and report.post.id == world.post
    assert [s.id for s in report.surveys] == [world.survey]
    sites = _by_site(report.sites)
    a1, a2, b1 = sites[tree.ward_a1], sites[tree.ward_a2], sites[tree.ward_b1]
    assert a1.answers == {world.pre: 2, world.post: 2, world.survey: 1}
    # A1: pre 4 right of 6, post 5 of 6; An +66.67 and Bình −33.33 with their codes.
    assert _derived(a1, world.post) == (10, 20.0, 66.7, 83.3, 16.7, 0.5, 2, 16.7, 5.0)
    assert _derived(a2, world.post) == (20, 5.0, 33.3, 100.0, 66.7, 1.0, 0, None, 3.0)
    # B1: the tally (5 of 8; the multiple choice is not scored in a tally) and Cường's
    # answer, who took no pre-test: no pair.
    assert b1.answers == {world.pre: 4, world.post: 5, world.survey: 3}
    assert _derived(b1, world.post) == (8, 62.5, 62.5, 81.8, 19.3, 0.515, 0, None, 4.33)
    hub_b = sites[tree.hub_b]
    assert _derived(hub_b, world.post) == (5, 0.0, None, None, None, None, 0, None, None)


def test_rollups_are_sums_never_averages_of_averages(
    wdb: Session, admin: User, tree: Tree, world: EffectWorld
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin)
    provinces = {r.name: r.figures for r in report.provinces}
    hcm = provinces["Trung tâm Hội nghị 272"]
    # 5 right of 9 (the mean of A1's 66.7 and A2's 33.3 would say 50).
    assert _derived(hcm, world.post) == (30, 10.0, 55.6, 88.9, 33.3, 0.75, 2, 16.7, 4.0)
    assert hcm.sites == 3
    hn = provinces["Điểm cầu Hà Nội"]
    assert (hn.sites, hn.present, hn.pre_mean, hn.post_mean) == (2, 13, 62.5, 81.8)
    assert provinces["Các điểm cầu khác"].sites == 1  # the central site
    hubs = _by_site(report.hubs)
    assert set(hubs) == {tree.central, tree.hub_a, tree.hub_b}
    assert _derived(hubs[tree.hub_a], world.post) == _derived(hcm, world.post)
    t = report.totals
    assert _derived(t, world.post) == (43, 18.6, 58.8, 85.0, 26.2, 0.636, 2, 16.7, 4.2)
    assert _derived(hubs[tree.central], world.post) == _derived(t, world.post)


def _direct(db: Session, world: EffectWorld) -> dict[int, dict[str, float]]:
    """Per site, straight from the stored rows with plain SQL (tally JSON read here)."""
    out: dict[int, dict[str, float]] = {}

    def at(site_id: int) -> dict[str, float]:
        return out.setdefault(site_id, dict.fromkeys(
            ("present", "pre", "post", "survey", "pre_right", "pre_scored", "post_right",
             "post_scored", "pairs", "paired", "rating_sum", "rating_n"), 0.0))

    for site_id, total in db.execute(text(
            "SELECT site_id, total FROM headcount WHERE session_key = 0 AND NOT superseded")):
        at(site_id)["present"] = max(at(site_id)["present"], total)
    for site_id, n in db.execute(text("SELECT site_id, count(*) FROM attendance "
                                      "WHERE session_key = 0 GROUP BY site_id")):
        at(site_id)["present"] = max(at(site_id)["present"], n)
    right_options = {row[0] for row in db.execute(text(
        "SELECT o.id FROM bank_option o JOIN bank_question q ON q.id = o.question_id "
        "WHERE o.correct AND q.kind = 'single'"))}
    single = {str(row[0]) for row in db.execute(text(
        "SELECT id FROM bank_question WHERE kind = 'single'"))}
    for name, form_id in (("pre", world.pre), ("post", world.post), ("survey", world.survey)):
        for site_id, n, right, scored in db.execute(text(
                "SELECT site_id, count(*), sum(correct), sum(scored) FROM form_answer "
                "WHERE form_id = :f GROUP BY site_id"), {"f": form_id}):
            at(site_id)[name] += n
            if name != "survey":
                at(site_id)[f"{name}_right"] += right
                at(site_id)[f"{name}_scored"] += scored
        for site_id, respondents, counts in db.execute(text(
                "SELECT site_id, respondents, counts FROM form_tally WHERE form_id = :f"),
                {"f": form_id}):
            counts = counts if isinstance(counts, dict) else json.loads(counts)
            at(site_id)[name] += respondents
            for qid, typed in counts.items():
                if name != "survey" and qid in single:
                    at(site_id)[f"{name}_scored"] += sum(typed.values())
                    at(site_id)[f"{name}_right"] += sum(
                        n for k, n in typed.items() if k.isdigit() and int(k) in right_options)
                for k, n in typed.items():
                    if k.startswith("r"):
                        at(site_id)["rating_sum"] += int(k[1:]) * n
                        at(site_id)["rating_n"] += n
    for site_id, total, n in db.execute(text(
            "SELECT site_id, sum(rating), count(*) FROM form_choice "
            "WHERE form_id = :f AND rating IS NOT NULL GROUP BY site_id"), {"f": world.survey}):
        at(site_id)["rating_sum"] += total
        at(site_id)["rating_n"] += n
    for site_id, diff, n in db.execute(text(
            "SELECT b.site_id, sum(b.score - a.score), count(*) FROM form_answer a "
            "JOIN form_answer b ON b.attendee_id = a.attendee_id AND b.form_id = :post "
            "WHERE a.form_id = :pre AND a.score IS NOT NULL AND b.score IS NOT NULL "
            "GROUP BY b.site_id"), {"pre": world.pre, "post": world.post}):
        at(site_id)["pairs"] += n
        at(site_id)["paired"] += float(diff)
    return out


def _figures_as_direct(f: Figures, world: EffectWorld) -> dict[str, float]:
    return {"present": f.present, "pre": f.answers.get(world.pre, 0),
            "post": f.answers.get(world.post, 0), "survey": f.answers.get(world.survey, 0),
            "pre_right": f.pre_right, "pre_scored": f.pre_scored, "post_right": f.post_right,
            "post_scored": f.post_scored, "pairs": f.pairs, "paired": round(f.paired_sum, 2),
            "rating_sum": f.rating_sum, "rating_n": f.rating_count}


def _summed(direct: dict[int, dict[str, float]], site_ids: list[int]) -> dict[str, float]:
    out: dict[str, float] = {}
    for site_id in site_ids:
        for k, v in direct.get(site_id, {}).items():
            out[k] = out.get(k, 0.0) + v
    return {k: round(v, 2) for k, v in out.items()}


def test_totals_equal_a_direct_count_of_the_stored_rows_at_every_level(
    wdb: Session, admin: User, tree: Tree, world: EffectWorld
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin)
    direct = _direct(wdb, world)
    paths = {int(i): str(p) for i, p in wdb.execute(text(
        "SELECT s.id, s.path FROM site s JOIN participation p ON p.site_id = s.id "
        "WHERE p.conference_id = :c"), {"c": tree.cid})}
    zero = dict.fromkeys(_figures_as_direct(Figures(), world), 0.0)

    def under(root: int) -> list[int]:
        return [i for i, p in paths.items() if p.startswith(paths[root])]

    def check(f: Figures, site_ids: list[int]) -> None:
        assert {**zero, **_summed(direct, site_ids)} == {
            k: float(v) for k, v in _figures_as_direct(f, world).items()}

    for row in report.sites:
        assert row.site_id is not None
        check(row.figures, [row.site_id])
    for row in report.hubs:
        assert row.site_id is not None
        check(row.figures, under(row.site_id))
    hubs = [tree.hub_a, tree.hub_b]
    provinces = {r.site_id: r.figures for r in report.provinces}
    for hub in hubs:
        check(provinces[hub], under(hub))
    check(provinces[None], [i for i in paths if not any(i in under(h) for h in hubs)])
    check(report.totals, list(paths))
    assert report.totals.pre_scored == 17 and report.totals.pairs == 2  # not all zeros


def test_a_coordinator_sees_their_subtree_only(
    wdb: Session, tree: Tree, world: EffectWorld, coordinator_a: User
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid,
                                                actor=coordinator_a)
    assert {r.site_id for r in report.sites} == {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert [r.name for r in report.provinces] == ["Trung tâm Hội nghị 272"]
    assert (report.totals.present, report.totals.pre_right, report.totals.pre_scored) == (30,
                                                                                           5, 9)
    # The most-wrong questions count the subtree's answers only (no tally of B1).
    q1 = [w for w in report.wrong_pre if w.position == 1]
    assert q1 and q1[0].respondents == 3
    with pytest.raises(endpoints_errors.SiteOutOfScope):
        effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=coordinator_a,
                                           under_id=tree.ward_b1)


def test_the_questions_most_often_answered_wrong(
    wdb: Session, admin: User, tree: Tree, world: EffectWorld
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin)
    pre = [(w.position, w.respondents, w.wrong, w.wrong_share, w.top_wrong, w.top_wrong_count)
           for w in report.wrong_pre]
    # Q3 (multiple, phones only: Bình right), Q2 (An's A, 2 in the tally), Q1 (the phone's
    # B, 1 in the tally).
    assert pre == [(3, 3, 2, 66.7, "C. Phương án C", 1), (2, 7, 3, 42.9, "A. Phương án A", 3),
                   (1, 7, 2, 28.6, "B. Phương án B", 2)]
    post = [(w.position, w.wrong) for w in report.wrong_post]
    assert post == [(3, 2), (2, 1)]  # Bình and Cường ticked A only; the tally's one A


def test_the_pair_is_chosen_by_its_pre_test(
    wdb: Session, admin: User, tree: Tree, world: EffectWorld
) -> None:
    chosen = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin,
                                                pre_id=world.pre)
    assert chosen.post is not None and chosen.post.id == world.post
    for wrong in (world.post, world.survey, 999_999):
        with pytest.raises(EffectPairNotFound):
            effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin,
                                               pre_id=wrong)


def test_a_conference_without_forms_reports_presence_only(
    wdb: Session, admin: User, tree: Tree
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin)
    assert report.pre is None and report.pairs == [] and report.wrong_pre == []
    assert report.totals.sites == 6 and report.totals.pre_mean is None


def test_rows_filter_search_and_sort(
    wdb: Session, admin: User, tree: Tree, world: EffectWorld
) -> None:
    report = effectiveness.effectiveness_report(wdb, conference_id=tree.cid, actor=admin)
    rows = report.sites

    def ids(**kw: object) -> list[int | None]:
        return [r.site_id for r in select_rows(rows, post_id=world.post, **kw)]  # type: ignore[arg-type]

    assert ids(sort="post", desc=True)[:3] == [tree.ward_a2, tree.ward_a1, tree.ward_b1]
    assert ids(sort="pre")[:3] == [tree.ward_a2, tree.ward_b1, tree.ward_a1]
    assert set(ids(filter="no_answers")) == {tree.central, tree.hub_a, tree.hub_b}
    assert ids(q="hoan kiem") == [tree.ward_b1]  # without diacritics
    # Below half of present answered the post-test (nobody present: no share, not listed).
    assert set(ids(filter="low_participation")) == {tree.hub_b, tree.ward_a1, tree.ward_a2}
    assert ids(sort="tree") == [r.site_id for r in rows]
    assert ids(sort="tree", desc=True) == [r.site_id for r in rows][::-1]
