"""Registry use cases, on SQLite and PostgreSQL."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.db import local_today
from endpoints import errors, service, site_changes, site_lists
from endpoints.models import ConferenceCreate, Readiness, Site, SiteCreate, SiteKind, SiteUpdate
from tests.conftest import Tree


def test_create_site_sets_path_and_depth(db: Session, tree: Tree) -> None:
    ward = db.get(Site, tree.ward_a1)
    assert ward is not None
    assert ward.path == f"/{tree.central}/{tree.hub_a}/{tree.ward_a1}/"
    assert ward.depth == 2
    assert ward.name_key == "dang uy phuong ben nghe"


def test_create_site_under_parent_outside_the_conference_invites_the_parents(
    db: Session, admin: User, tree: Tree
) -> None:
    other = service.create_conference(db, data=ConferenceCreate(
        title="Hội nghị sau", starts_on=date(2025, 10, 1), ends_on=date(2025, 10, 1)
    ), actor=admin)
    assert other.id is not None
    view = service.create_site(
        db,
        conference_id=other.id,
        data=SiteCreate(name="Xã A", kind=SiteKind.commune, parent_id=tree.hub_a),
        actor=admin,
    )
    assert (view.conference_id, view.parent_id) == (other.id, tree.hub_a)
    page = site_lists.list_sites(db, conference_id=other.id, actor=admin)
    assert [s.id for s in page.items] == [tree.central, tree.hub_a, view.id]
    # The first conference is untouched.
    first = site_lists.list_sites(db, conference_id=tree.cid, actor=admin)
    assert view.id not in {s.id for s in first.items}


def test_create_site_under_missing_parent_is_refused(
    db: Session, admin: User, tree: Tree
) -> None:
    with pytest.raises(errors.ParentNotFound):
        service.create_site(
            db,
            conference_id=tree.cid,
            data=SiteCreate(name="Xã A", kind=SiteKind.commune, parent_id=99_999),
            actor=admin,
        )


def test_create_site_with_duplicate_code_is_refused_and_nothing_written(
    db: Session, admin: User, tree: Tree
) -> None:
    before = len(db.exec(select(Site)).all())
    with pytest.raises(errors.DuplicateSiteCode):
        service.create_site(
            db,
            conference_id=tree.cid,
            data=SiteCreate(name="Trùng mã", kind=SiteKind.ward, parent_id=tree.hub_a, code="HCM"),
            actor=admin,
        )
    assert len(db.exec(select(Site)).all()) == before


def test_move_site_under_its_own_descendant_is_refused(
    db: Session, admin: User, tree: Tree
) -> None:
    with pytest.raises(errors.SiteCycle):
        site_changes.update_site(
            db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.ward_a1), actor=admin
        )
    with pytest.raises(errors.SiteCycle):
        site_changes.update_site(
            db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.hub_a), actor=admin
        )
    hub = db.get(Site, tree.hub_a)
    assert hub is not None and hub.parent_id == tree.central


def test_move_site_rewrites_subtree_paths(db: Session, admin: User, tree: Tree) -> None:
    site_changes.update_site(
        db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.hub_b), actor=admin
    )
    db.expire_all()
    ward = db.get(Site, tree.ward_a1)
    assert ward is not None
    assert ward.path == f"/{tree.central}/{tree.hub_b}/{tree.hub_a}/{tree.ward_a1}/"
    assert ward.depth == 3
    # The conference's copy of the paths moves too: its list is in the new tree order,
    # the moved hub's wards right after it, under the other hub.
    page = site_lists.list_sites(db, conference_id=tree.cid, actor=admin)
    assert [s.path for s in page.items] == sorted(s.path for s in page.items)
    ids = [s.id for s in page.items]
    assert ids.index(tree.hub_b) < ids.index(tree.hub_a) < ids.index(tree.ward_a1)
    part = service.participation_of(db, conference_id=tree.cid, site_id=tree.ward_a1)
    assert part is not None and part.path == ward.path


def test_list_sites_search_ignores_diacritics_and_d_stroke(
    db: Session, admin: User, tree: Tree
) -> None:
    page = site_lists.list_sites(
        db, conference_id=tree.cid, actor=admin,
        filters=site_lists.SiteFilter(q="dang uy phuong"),
    )
    assert {s.id for s in page.items} == {tree.ward_a1, tree.ward_b1}
    page = site_lists.list_sites(
        db, conference_id=tree.cid, actor=admin, filters=site_lists.SiteFilter(q="CẦN GIỜ")
    )
    assert [s.id for s in page.items] == [tree.ward_a2]


def test_list_sites_for_coordinator_is_their_subtree(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    page = site_lists.list_sites(db, conference_id=tree.cid, actor=coordinator_a)
    assert {s.id for s in page.items} == {tree.hub_a, tree.ward_a1, tree.ward_a2}
    assert page.total == 3


def test_coordinator_cannot_read_or_change_other_subtree(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(errors.SiteOutOfScope):
        service.get_site(db, site_id=tree.ward_b1, actor=coordinator_a)
    with pytest.raises(errors.SiteOutOfScope):
        site_changes.update_site(
            db, site_id=tree.ward_b1, data=SiteUpdate(room="X"), actor=coordinator_a
        )
    with pytest.raises(errors.SiteOutOfScope):
        service.get_site(db, site_id=tree.central, actor=coordinator_a)


def test_coordinator_changes_readiness_of_own_ward(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    site = site_changes.update_site(
        db,
        site_id=tree.ward_a1,
        data=SiteUpdate(readiness=Readiness.ready, readiness_note="Đã thử hình, tiếng"),
        actor=coordinator_a,
    )
    assert site.readiness == Readiness.ready


def test_update_site_with_null_required_fields_keeps_them(
    db: Session, admin: User, tree: Tree
) -> None:
    # Found by tests/app/test_fuzz.py: PATCH {"name": null} was a 500, {"kind": null} a 409.
    data = SiteUpdate.model_validate(
        {"name": None, "kind": None, "expected_attendees": None, "readiness": None,
         "room": "Phòng họp số 2"}
    )
    site = site_changes.update_site(db, site_id=tree.ward_a1, data=data, actor=admin)
    db.rollback()
    stored = service.site_view(db, site_id=tree.ward_a1, actor=admin, conference_id=tree.cid)
    assert (stored.name, stored.kind, stored.readiness, stored.room) == (
        "Đảng ủy phường Bến Nghé", SiteKind.ward, Readiness.not_connected, "Phòng họp số 2"
    )
    assert site.name_key == "dang uy phuong ben nghe"


def test_coordinator_cannot_move_own_site_out_of_scope(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(errors.SiteOutOfScope):
        site_changes.update_site(
            db, site_id=tree.hub_a, data=SiteUpdate(parent_id=tree.hub_b), actor=coordinator_a
        )
    with pytest.raises(errors.SiteOutOfScope):
        site_changes.update_site(
            db, site_id=tree.ward_a1, data=SiteUpdate(parent_id=tree.hub_b), actor=coordinator_a
        )



def test_logout_invalidates_earlier_tokens(db: Session, admin: User) -> None:
    token = accounts_service.issue_token(user=admin, secret="s" * 40)
    assert accounts_service.user_for_token(db, token=token, secret="s" * 40, max_age_seconds=60)
    accounts_service.logout(db, user=admin)
    db.expire_all()
    found = accounts_service.user_for_token(db, token=token, secret="s" * 40, max_age_seconds=60)
    assert found is None


def test_delete_site_with_children_is_refused(db: Session, admin: User, tree: Tree) -> None:
    with pytest.raises(errors.SiteHasChildren):
        site_changes.delete_site(db, site_id=tree.hub_a, actor=admin)
    site_changes.delete_site(db, site_id=tree.ward_a1, actor=admin)
    assert db.get(Site, tree.ward_a1) is None


def test_a_site_is_about_the_live_conference_else_the_next_else_the_last(
    db: Session, admin: User, tree: Tree
) -> None:
    today = local_today()

    def conference(title: str, day: date) -> int:
        made = service.create_conference(
            db, data=ConferenceCreate(title=title, starts_on=day, ends_on=day), actor=admin
        )
        assert made.id is not None
        return made.id

    past = conference("Đã qua", today - timedelta(days=30))
    soon = conference("Sắp tới", today + timedelta(days=3))
    later = conference("Sau nữa", today + timedelta(days=60))
    live = conference("Hôm nay", today)
    site = db.get(Site, tree.ward_b1)
    assert site is not None and site.id is not None
    # The Tree fixture's conference (09/09/2025) is the only one so far: the last one.
    assert service.site_view(db, site_id=site.id, actor=admin).conference_id == tree.cid
    for invited, expected in [(past, past), (later, later), (soon, soon), (live, live),
                              (conference("Đã qua nữa", today - timedelta(days=1)), live)]:
        service.invite_site(db, conference_id=invited, site=site)
        db.commit()
        view = service.site_view(db, site_id=site.id, actor=admin)
        assert service.current_conference_id(db, site_id=site.id) == view.conference_id
        assert view.conference_id == expected, invited
