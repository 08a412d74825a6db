"""Units change: rename, merge, retire, restore registry sites; history; the registry list."""

from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from app.accounts.errors import AdminOnly
from app.accounts.models import User
from app.db import local_today
from endpoints import errors, registry
from endpoints.invite_models import Invite
from endpoints.models import Participation, Site, SiteChange, SiteHistory, SiteStatus
from endpoints.screen_models import ScreenDevice
from tests.conftest import Tree
from tests.endpoints.registry_support import conference, invite, invite_link, screen, site


def _history(db: Session, site_id: int) -> list[tuple[str, str | None, str | None]]:
    db.rollback()
    rows = db.exec(select(SiteHistory).where(SiteHistory.site_id == site_id)
                   .order_by(col(SiteHistory.id))).all()
    return [(h.change, h.old_name, h.new_name) for h in rows]


def _state(s: Site) -> tuple[object, ...]:
    return (s.status, s.parent_id, s.path, s.merged_into_id, s.updated_at)


def _history_count(db: Session) -> int:
    db.rollback()
    return int(db.exec(select(func.count()).select_from(SiteHistory)).one())


# ------------------------------------------------------------------- rename


def test_a_rename_reaches_live_and_future_conferences_but_not_ended_ones(
    db: Session, admin: User, tree: Tree
) -> None:
    live = conference(db, admin, "Hội nghị hôm nay", 0, 0)
    future = conference(db, admin, "Hội nghị sắp tới", 5, 6)
    for c in (live, future):
        assert c.id is not None
        invite(db, c.id, tree.ward_a1)
    effective = local_today() - timedelta(days=1)
    registry.rename_site(db, site_id=tree.ward_a1, name="Đảng ủy phường Sài Gòn", actor=admin,
                         note="Nghị quyết 1685/NQ-UBTVQH15", effective_on=effective)
    db.rollback()
    names = dict(db.exec(select(Participation.conference_id, Participation.name)
                         .where(Participation.site_id == tree.ward_a1)).all())
    assert names == {tree.cid: "Đảng ủy phường Bến Nghé", live.id: "Đảng ủy phường Sài Gòn",
                     future.id: "Đảng ủy phường Sài Gòn"}
    last = db.exec(select(SiteHistory).where(SiteHistory.site_id == tree.ward_a1)
                   .order_by(col(SiteHistory.id).desc())).first()
    assert last is not None
    assert (last.change, last.old_name, last.new_name, last.note, last.effective_on) == (
        SiteChange.renamed, "Đảng ủy phường Bến Nghé", "Đảng ủy phường Sài Gòn",
        "Nghị quyết 1685/NQ-UBTVQH15", effective)
    assert site(db, tree.ward_a1).name_key == "dang uy phuong sai gon"


def test_a_coordinator_renames_only_in_their_subtree(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    registry.rename_site(db, site_id=tree.ward_a2, name="Đảng ủy đặc khu Cần Giờ",
                         actor=coordinator_a)
    assert site(db, tree.ward_a2).name == "Đảng ủy đặc khu Cần Giờ"
    with pytest.raises(errors.SiteOutOfScope):
        registry.rename_site(db, site_id=tree.hub_b, name="Khác", actor=coordinator_a)
    assert site(db, tree.hub_b).name == "Điểm cầu Hà Nội"


# -------------------------------------------------------------------- merge


def test_a_merge_hands_children_people_screens_and_open_invites_to_the_target(
    db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    live = conference(db, admin, "Hội nghị hôm nay", 0, 1)
    assert live.id is not None
    invite(db, live.id, tree.central, tree.hub_a)
    device = screen(db, tree.hub_a, seen_seconds_ago=None)
    open_link = invite_link(db, live.id, tree.hub_a)
    past_link = invite_link(db, tree.cid, tree.hub_a)
    registry.merge_site(db, site_id=tree.hub_a, into_id=tree.hub_b, actor=admin,
                        note="Nghị quyết sáp nhập")
    merged, target = site(db, tree.hub_a), site(db, tree.hub_b)
    assert (merged.status, merged.merged_into_id) == (SiteStatus.merged, tree.hub_b)
    for child_id in (tree.ward_a1, tree.ward_a2):
        child = site(db, child_id)
        assert (child.parent_id, child.path) == (tree.hub_b, f"{target.path}{child_id}/")
        assert _history(db, child_id)[-1] == (SiteChange.moved, None, None)
    assert db.get(User, coordinator_a.id).site_id == tree.hub_b  # type: ignore[union-attr]
    assert db.get(ScreenDevice, device).site_id == tree.hub_b  # type: ignore[union-attr]
    parents = {i.id: i.parent_site_id for i in db.exec(select(Invite)).all()}
    assert parents == {open_link: tree.hub_b, past_link: tree.hub_a}
    in_live = db.exec(select(Participation.site_id)
                      .where(Participation.conference_id == live.id)).all()
    assert set(in_live) == {tree.central, tree.hub_a, tree.hub_b}
    assert _history(db, tree.hub_a)[-1] == (SiteChange.merged, "Trung tâm Hội nghị 272",
                                            "Điểm cầu Hà Nội")
    assert _history(db, tree.hub_b)[-1] == (SiteChange.merged, "Trung tâm Hội nghị 272",
                                            "Điểm cầu Hà Nội")


@pytest.mark.parametrize("into", ["itself", "child", "grandchild"])
def test_merging_into_its_own_subtree_is_refused_and_nothing_changes(
    db: Session, admin: User, tree: Tree, into: str
) -> None:
    target = {"itself": tree.hub_a, "child": tree.ward_a1, "grandchild": tree.ward_a1}[into]
    source = tree.central if into == "grandchild" else tree.hub_a
    before, history = _state(site(db, source)), _history_count(db)
    with pytest.raises(errors.MergeIntoSubtree):
        registry.merge_site(db, site_id=source, into_id=target, actor=admin)
    assert _state(site(db, source)) == before
    assert site(db, tree.ward_a1).parent_id == tree.hub_a
    assert _history_count(db) == history


def test_merging_an_inactive_site_or_into_one_is_refused(
    db: Session, admin: User, tree: Tree
) -> None:
    registry.retire_site(db, site_id=tree.ward_b1, actor=admin)
    history = _history_count(db)
    with pytest.raises(errors.SiteInactive):
        registry.merge_site(db, site_id=tree.ward_b1, into_id=tree.hub_a, actor=admin)
    with pytest.raises(errors.SiteInactive):
        registry.merge_site(db, site_id=tree.ward_a1, into_id=tree.ward_b1, actor=admin)
    assert site(db, tree.ward_a1).status == SiteStatus.active
    assert _history_count(db) == history


def test_only_the_central_office_merges_retires_and_restores(
    db: Session, tree: Tree, coordinator_a: User
) -> None:
    with pytest.raises(AdminOnly):
        registry.merge_site(db, site_id=tree.ward_a1, into_id=tree.ward_a2, actor=coordinator_a)
    with pytest.raises(AdminOnly):
        registry.retire_site(db, site_id=tree.ward_a1, actor=coordinator_a)
    with pytest.raises(AdminOnly):
        registry.restore_site(db, site_id=tree.ward_a1, actor=coordinator_a)
    assert site(db, tree.ward_a1).status == SiteStatus.active


# ---------------------------------------------------------- retire, restore


@pytest.mark.parametrize(("seen", "revoked", "refused"), [
    (5, False, True), (600, False, False), (5, True, False), (None, False, False),
])
def test_a_site_with_a_screen_online_cannot_be_retired(
    db: Session, admin: User, tree: Tree, seen: int | None, revoked: bool, refused: bool
) -> None:
    device = db.get(ScreenDevice, screen(db, tree.ward_a1, seen_seconds_ago=seen))
    assert device is not None
    device.revoked = revoked
    db.commit()
    if refused:
        with pytest.raises(errors.SiteHasLiveScreen):
            registry.retire_site(db, site_id=tree.ward_a1, actor=admin)
        assert site(db, tree.ward_a1).status == SiteStatus.active
    else:
        registry.retire_site(db, site_id=tree.ward_a1, actor=admin, note="Giải thể")
        assert site(db, tree.ward_a1).status == SiteStatus.retired
        assert _history(db, tree.ward_a1)[-1] == (SiteChange.retired, None, None)


def test_a_site_with_active_sites_below_cannot_be_retired(
    db: Session, admin: User, tree: Tree
) -> None:
    with pytest.raises(errors.SiteHasChildren):
        registry.retire_site(db, site_id=tree.hub_a, actor=admin)
    assert site(db, tree.hub_a).status == SiteStatus.active
    for child in (tree.ward_a1, tree.ward_a2):
        registry.retire_site(db, site_id=child, actor=admin)
    registry.retire_site(db, site_id=tree.hub_a, actor=admin)
    assert site(db, tree.hub_a).status == SiteStatus.retired
    with pytest.raises(errors.SiteInactive):
        registry.retire_site(db, site_id=tree.hub_a, actor=admin)


def test_restore_brings_back_a_retired_or_merged_site(
    db: Session, admin: User, tree: Tree
) -> None:
    registry.merge_site(db, site_id=tree.ward_a1, into_id=tree.ward_a2, actor=admin)
    registry.restore_site(db, site_id=tree.ward_a1, actor=admin, note="Khôi phục")
    restored = site(db, tree.ward_a1)
    assert (restored.status, restored.merged_into_id) == (SiteStatus.active, None)
    assert _history(db, tree.ward_a1)[-1] == (SiteChange.restored, None, None)
    with pytest.raises(errors.SiteActive):
        registry.restore_site(db, site_id=tree.ward_a1, actor=admin)


def test_a_site_under_an_inactive_parent_cannot_be_restored(
    db: Session, admin: User, tree: Tree
) -> None:
    registry.retire_site(db, site_id=tree.ward_b1, actor=admin)
    registry.retire_site(db, site_id=tree.hub_b, actor=admin)
    history = _history_count(db)
    with pytest.raises(errors.SiteInactive):
        registry.restore_site(db, site_id=tree.ward_b1, actor=admin)
    assert site(db, tree.ward_b1).status == SiteStatus.retired
    assert _history_count(db) == history


# -------------------------------------------------------------------- reads


def test_history_lists_a_sites_changes_oldest_first_within_scope(
    db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    registry.rename_site(db, site_id=tree.ward_a1, name="Phường Sài Gòn", actor=admin)
    rows = registry.site_history(db, site_id=tree.ward_a1, actor=coordinator_a)
    assert [(h.change, h.new_name) for h in rows] == [
        (SiteChange.created, "Đảng ủy phường Bến Nghé"), (SiteChange.renamed, "Phường Sài Gòn")]
    with pytest.raises(errors.SiteOutOfScope):
        registry.site_history(db, site_id=tree.ward_b1, actor=coordinator_a)


def test_the_registry_list_is_scoped_searched_and_filtered(
    db: Session, admin: User, tree: Tree, coordinator_a: User
) -> None:
    def names(actor: User, **kw: object) -> list[str]:
        return [s.name for s in registry.list_registry_sites(db, actor=actor, **kw).items]  # type: ignore[arg-type]

    assert registry.list_registry_sites(db, actor=admin).total == 6
    assert names(coordinator_a) == ["Trung tâm Hội nghị 272", "Đảng ủy phường Bến Nghé",
                                    "Đảng ủy xã Cần Giờ"]
    assert names(admin, q="ben nghe") == ["Đảng ủy phường Bến Nghé"]
    assert names(admin, q="HN-") == ["Đảng ủy phường Hoàn Kiếm"]
    assert names(admin, under_id=tree.hub_b) == ["Điểm cầu Hà Nội", "Đảng ủy phường Hoàn Kiếm"]
    registry.retire_site(db, site_id=tree.ward_b1, actor=admin)
    assert names(admin, status=SiteStatus.retired) == ["Đảng ủy phường Hoàn Kiếm"]
    page = registry.list_registry_sites(db, actor=admin, limit=2, offset=2)
    assert (page.total, len(page.items)) == (6, 2)
    with pytest.raises(errors.SiteOutOfScope):
        registry.list_registry_sites(db, actor=coordinator_a, under_id=tree.hub_b)
