"""The words of an offline sync on the dashboard, and how a site's requests add up."""

from datetime import UTC, date, datetime, timedelta

from checkin.sync_view import ONE_RETURN, SyncSummary, sync_text

# 09:41 in Vietnam is 02:41 UTC; the queue began at 09:01.
AT = datetime(2026, 12, 8, 2, 41, 5, tzinfo=UTC)
OLDEST = datetime(2026, 12, 8, 2, 1, 30, tzinfo=UTC)
TODAY = date(2026, 12, 8)


def _one(checkins: int, at: datetime = AT, *, headcounts: int = 0, refused: int = 0,
         oldest: datetime | None = OLDEST) -> SyncSummary:
    return SyncSummary.of(checkins=checkins, headcounts=headcounts, refused=refused,
                          oldest=oldest, at=at)


def test_sync_text_says_how_many_and_when_in_local_time() -> None:
    assert sync_text(_one(312), today=TODAY) == (
        "đồng bộ 312 lượt điểm danh lúc 09:41 (ghi từ 09:01)")


def test_sync_text_names_the_day_when_not_today_and_groups_thousands() -> None:
    text = sync_text(_one(1_250, headcounts=2, refused=3), today=TODAY + timedelta(days=1))
    assert text == ("đồng bộ 1.250 lượt điểm danh và 2 báo cáo lúc 09:41 ngày "
                    "08/12/2026 (ghi từ 09:01 ngày 08/12/2026); 3 mục bị từ chối")


def test_sync_text_of_a_queue_without_check_ins() -> None:
    assert sync_text(_one(0, oldest=None), today=TODAY) == "đồng bộ lúc 09:41"


def test_local_midnight_is_the_next_day() -> None:
    # 17:30 UTC is 00:30 the next day in Vietnam: "today" there, no date written.
    late = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
    assert sync_text(_one(5, late, oldest=None), today=TODAY) == (
        "đồng bộ 5 lượt điểm danh lúc 00:30")


def test_requests_of_one_return_add_up() -> None:
    first = _one(200)
    second = _one(112, AT + timedelta(seconds=2), oldest=OLDEST - timedelta(minutes=3))
    both = first.then(second)
    assert (both.checkins, both.at, both.oldest) == (312, second.at, second.oldest)
    # The same request again (its message arriving after the table was read): once.
    assert both.then(second) == both
    assert both.then(first) == both


def test_a_later_network_cut_starts_a_new_return() -> None:
    later = _one(7, AT + ONE_RETURN + timedelta(seconds=1))
    assert _one(312).then(later) == later


def test_view_carries_utc_times_and_the_text() -> None:
    view = _one(312).view(site_id=4, site_name="Đặc khu Côn Đảo", today=TODAY)
    assert view == {
        "site_id": 4, "site_name": "Đặc khu Côn Đảo", "checkins": 312, "headcounts": 0,
        "refused": 0, "oldest": "2026-12-08T02:01:30+00:00", "at": "2026-12-08T02:41:05+00:00",
        "text": "đồng bộ 312 lượt điểm danh lúc 09:41 (ghi từ 09:01)",
    }


def test_a_replay_that_brought_nothing_new_leaves_the_return_as_it_was() -> None:
    replay = _one(0, AT + ONE_RETURN * 3, oldest=OLDEST)
    assert _one(312).then(replay) == _one(312)
