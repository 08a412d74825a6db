"""The report's figures: means, change and gain from sums (g undefined at a perfect pre-test),
sums that add, rows sorted with the unknown last."""

from checkin.effectiveness_rows import EffectRow, Figures, hub_rows, province_rows, select_rows


def _row(site_id: int, parent: int | None, name: str, group: str, f: Figures) -> EffectRow:
    return EffectRow(site_id, parent, name, None, "", 0, group, f)


def test_gain_is_undefined_when_the_pre_test_is_perfect_or_missing() -> None:
    assert Figures(pre_right=4, pre_scored=4, post_right=4, post_scored=4).gain is None
    assert Figures(post_right=3, post_scored=4).gain is None
    f = Figures(pre_right=1, pre_scored=4, post_right=3, post_scored=4)
    assert (f.pre_mean, f.post_mean, f.change, f.gain) == (25.0, 75.0, 50.0, 0.667)
    assert Figures(pre_right=3, pre_scored=4, post_right=1, post_scored=4).gain == -2.0


def test_sums_add_and_means_come_from_the_sums() -> None:
    a = Figures(sites=1, present=10, answers={7: 2}, pre_right=2, pre_scored=2, pairs=1,
                paired_sum=10.0, rating_sum=5, rating_count=1)
    b = Figures(sites=1, present=30, answers={7: 6}, pre_right=0, pre_scored=6, pairs=3,
                paired_sum=-2.0, rating_sum=6, rating_count=3)
    total = a.copy()
    total.add(b)
    assert a.answers == {7: 2}  # the copy did not share the site's own sums
    assert (total.participation(7), total.pre_mean, total.paired_change,
            total.satisfaction) == (20.0, 25.0, 2.0, 2.75)
    assert Figures().participation(7) is None and Figures().participation(None) is None


def test_hubs_and_provinces_sum_their_sites() -> None:
    rows = [_row(1, None, "Trung ương", "Khác", Figures(sites=1, present=1)),
            _row(2, 1, "Hà Nội", "Hà Nội", Figures(sites=1, present=2)),
            _row(3, 2, "Hoàn Kiếm", "Hà Nội", Figures(sites=1, present=4))]
    assert [(r.site_id, r.figures.present) for r in hub_rows(rows)] == [(1, 7), (2, 6)]
    assert rows[1].figures.present == 2  # the site's own figures are untouched
    provinces = province_rows(rows, [(2, "Hà Nội"), (None, "Khác")])
    assert [(r.name, r.figures.sites, r.figures.present) for r in provinces] == [
        ("Hà Nội", 2, 6), ("Khác", 1, 1)]


def test_sort_puts_rows_without_the_figure_last_either_way() -> None:
    rows = [_row(1, None, "A", "", Figures()),
            _row(2, None, "B", "", Figures(pre_right=1, pre_scored=2)),
            _row(3, None, "C", "", Figures(pre_right=2, pre_scored=2))]
    assert [r.site_id for r in select_rows(rows, post_id=None, sort="pre")] == [2, 3, 1]
    assert [r.site_id for r in select_rows(rows, post_id=None, sort="pre", desc=True)] == [
        3, 2, 1]
    assert [r.site_id for r in select_rows(rows, post_id=None, sort="name", desc=True)] == [
        3, 2, 1]
