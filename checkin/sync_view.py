"""What the dashboard says about a site's offline sync. Pure: no I/O.

A site that lost the network keeps checking people in on its devices and sends the
queue when it is back (`POST /api/v1/sites/{id}/sync`, at most 500 items a request, so
a long queue or a second desk makes several requests). The central office then reads
on the site's row "đồng bộ 312 lượt điểm danh lúc 09:41": from the ``synced`` realtime
messages while watching, from the ``offline_sync`` table after a reload. Both fold the
requests with :meth:`SyncSummary.then` and word them with :func:`sync_text`, so the two
cannot disagree.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from app.templating import LOCAL_TZ
from app.text import format_number

#: Requests of one site this close after each other are one return from a network cut
#: (the batches of one queue, the other desks coming back): their figures add up.
ONE_RETURN: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """A site's last return: what its requests carried and when (the latest) it synced."""

    checkins: int
    headcounts: int
    refused: int
    oldest: datetime | None
    at: datetime
    # The sync times of the requests added up: a request read from the table whose
    # message was still on its way when the board loaded is not added twice.
    times: frozenset[datetime] = frozenset()

    @classmethod
    def of(cls, *, checkins: int, headcounts: int, refused: int, oldest: datetime | None,
           at: datetime) -> "SyncSummary":
        """One sync request."""
        return cls(checkins, headcounts, refused, oldest, at, frozenset((at,)))

    def then(self, later: "SyncSummary") -> "SyncSummary":
        """This return followed by a later request: added up when it is the same return."""
        if later.times <= self.times or later.empty:
            # Told twice, or a replay that brought nothing new: the return stays as it was.
            return self
        if later.at - self.at > ONE_RETURN:
            return later
        oldest = min((t for t in (self.oldest, later.oldest) if t is not None), default=None)
        return replace(
            later, checkins=self.checkins + later.checkins,
            headcounts=self.headcounts + later.headcounts,
            refused=self.refused + later.refused, oldest=oldest,
            at=max(self.at, later.at), times=self.times | later.times,
        )

    @property
    def empty(self) -> bool:
        """Nothing new in it (a queue sent again)."""
        return not (self.checkins or self.headcounts or self.refused)

    def view(self, *, site_id: int, site_name: str, today: date) -> dict[str, Any]:
        """The JSON that dashboard rows and the recent-syncs list carry."""
        return {
            "site_id": site_id,
            "site_name": site_name,
            "checkins": self.checkins,
            "headcounts": self.headcounts,
            "refused": self.refused,
            # UTC, so that views compare as text whichever way they came.
            "oldest": self.oldest.astimezone(UTC).isoformat() if self.oldest else None,
            "at": self.at.astimezone(UTC).isoformat(),
            "text": sync_text(self, today=today),
        }


def _clock(at: datetime, today: date) -> str:
    """"09:41" today (Vietnam's calendar day), "09:41 ngày 07/12/2026" another day."""
    local = at.astimezone(LOCAL_TZ)
    text = local.strftime("%H:%M")
    return text if local.date() == today else f"{text} ngày {local.strftime('%d/%m/%Y')}"


def sync_text(summary: SyncSummary, *, today: date) -> str:
    """The sentence of a return: "đồng bộ 312 lượt điểm danh lúc 09:41 (ghi từ 09:01)"."""
    what = []
    if summary.checkins:
        what.append(f"{format_number(summary.checkins)} lượt điểm danh")
    if summary.headcounts:
        # Headcounts, readiness and incidents (offline_sync.headcounts counts them all).
        what.append(f"{format_number(summary.headcounts)} báo cáo")
    text = "đồng bộ " + (" và ".join(what) + " " if what else "")
    text += f"lúc {_clock(summary.at, today)}"
    if summary.oldest is not None and summary.oldest < summary.at:
        # Since when the queue was kept: the chart put those check-ins back there.
        text += f" (ghi từ {_clock(summary.oldest, today)})"
    if summary.refused:
        text += f"; {format_number(summary.refused)} mục bị từ chối"
    return text
