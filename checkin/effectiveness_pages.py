"""The effectiveness report's pages: the report with its level tabs, filters and sort,
and the printable Vietnamese report (A4, charts drawn by app.charts) in the attendance
report's style. Both work without JavaScript (the script only adds the print button)."""

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from app.accounts.models import User
from app.charts import Bar, bar_chart
from app.db import ReadDbSession
from app.deps import CurrentUser
from app.templating import LOCAL_TZ, render
from checkin import effectiveness
from checkin.effectiveness_rows import (
    FILTER_LABELS,
    LEVEL_LABELS,
    SORT_LABELS,
    EffectRow,
    Level,
    RowFilter,
    SortKey,
    select_rows,
)
from endpoints import service as endpoints_service

router = APIRouter(include_in_schema=False)
Raw = Annotated[str, Query(max_length=200)]
# The page lists this many rows (the files have them all); the print lists sites per
# province up to MAX_PRINTED_SITES, else provinces only, like the attendance report.
PAGE_ROWS = 500
MAX_PRINTED_SITES = 5_000


def _id(raw: str) -> int | None:
    # "", "0" and junk all mean "not chosen" (a bad query string is never a 500).
    value = raw.strip()
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


def _pick(raw: str, allowed: tuple[str, ...], default: str | None) -> Any:
    return raw if raw in allowed else default


def _context(request: Request, db: ReadDbSession, user: User, conference_id: int,
             pre_id: str, under_id: str, where: str) -> dict[str, Any]:
    conference = endpoints_service.get_conference(db, conference_id=conference_id, actor=user)
    report = effectiveness.effectiveness_report(
        db, conference_id=conference_id, actor=user, pre_id=_id(pre_id), under_id=_id(under_id))
    effectiveness.note_view(db, report, where=where)
    query = "&".join(f"{k}={v}" for k, v in (
        ("pre_id", report.pre.id if report.pre else None), ("under_id", report.under_id))
        if v is not None)
    request.state.user = user
    return {"conference": conference, "report": report, "query": query,
            "generated_local": report.generated_at.astimezone(LOCAL_TZ)}


@router.get("/conferences/{conference_id}/effectiveness", response_class=HTMLResponse)
def effectiveness_page(
    request: Request, conference_id: int, db: ReadDbSession, user: CurrentUser,
    pre_id: Raw = "", under_id: Raw = "", level: Raw = "site", q: Raw = "",
    filter: Raw = "", sort: Raw = "tree", desc: Raw = "",
) -> Response:
    """The report on screen: a level's rows with their figures, sorted and filtered."""
    context = _context(request, db, user, conference_id, pre_id, under_id, "page")
    report: effectiveness.EffectReport = context["report"]
    chosen_level: Level = _pick(level, get_args(Level), "site")
    chosen_filter: RowFilter | None = _pick(filter, get_args(RowFilter), None)
    chosen_sort: SortKey = _pick(sort, get_args(SortKey), "tree")
    rows = select_rows(report.level(chosen_level), post_id=report.post.id if report.post
                       else None, q=q.strip() or None, filter=chosen_filter,
                       sort=chosen_sort, desc=desc == "1")
    return render(request, "checkin/effectiveness.html", {
        **context, "tab": "effectiveness", "level": chosen_level, "rows": rows[:PAGE_ROWS],
        "row_count": len(rows), "page_rows": PAGE_ROWS, "q": q.strip(),
        "filter": chosen_filter or "", "sort": chosen_sort, "desc": desc == "1",
        "levels": LEVEL_LABELS, "sorts": SORT_LABELS, "filters": FILTER_LABELS,
    })


def _charts(report: effectiveness.EffectReport) -> list[Markup]:
    provinces: list[EffectRow] = [p for p in report.provinces if p.figures.sites]
    scores: list[Bar] = []
    for p in provinces:
        f = p.figures
        for label, value, post in ((f"{p.name} · đầu vào", f.pre_mean, False),
                                   (f"{p.name} · đầu ra", f.post_mean, True)):
            if value is not None:
                scores.append(Bar(label, value, highlight=post, note=f"{value:.1f}"))
    rated = [Bar(p.name, p.figures.satisfaction or 0.0, note=f"{p.figures.satisfaction:.2f}")
             for p in provinces if p.figures.satisfaction is not None]
    charts = []
    if scores:
        charts.append(bar_chart(scores, title="Điểm trung bình đầu vào và đầu ra theo tỉnh, "
                                "thành (thang 100)", max_value=100, label_width=300,
                                label_chars=42))
    if rated:
        charts.append(bar_chart(rated, title="Mức hài lòng theo tỉnh, thành (thang 5)",
                                max_value=5, label_width=300, label_chars=42))
    return charts


@router.get("/conferences/{conference_id}/effectiveness/print", response_class=HTMLResponse)
def effectiveness_print(
    request: Request, conference_id: int, db: ReadDbSession, user: CurrentUser,
    pre_id: Raw = "", under_id: Raw = "",
) -> Response:
    """The printable Vietnamese report: totals, provinces, charts, the questions most
    answered wrong, and the sites of each province (when they fit on paper)."""
    context = _context(request, db, user, conference_id, pre_id, under_id, "print")
    report: effectiveness.EffectReport = context["report"]
    by_group: dict[str, list[EffectRow]] = {}
    for r in report.sites:
        by_group.setdefault(r.group, []).append(r)
    return render(request, "checkin/effectiveness_print.html", {
        **context, "tab": "effectiveness", "charts": _charts(report), "by_group": by_group,
        "detailed": len(report.sites) <= MAX_PRINTED_SITES, "max_printed": MAX_PRINTED_SITES,
    })
