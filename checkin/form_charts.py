"""The charts of a form's shown results, one SVG per question, drawn from the frozen
`results_json` (app/charts.py) and kept per (form, results_version) in this process:
3,354 screens asking at once after "Hiện kết quả" cost one drawing."""

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.charts import Bar, bar_chart
from app.db import PerPool
from checkin import errors
from sessions.service import TrainingForm

#: Charts kept per database (a form shown again gets a new version: the old one ages out).
MAX_KEPT = 64


@dataclass(frozen=True, slots=True)
class Charts:
    version: int
    body: str  # {"version", "charts": [{"question_id", "svg"}]} as JSON, made once


_kept: PerPool[dict[tuple[int, int], Charts]] = PerPool(dict)


def _title(q: dict[str, Any]) -> str:
    return f"Câu {q['position']}. {q['text']}"


def question_chart(q: dict[str, Any]) -> str:
    """One question's chart: options (correct ones highlighted), ratings 1–5 with the
    mean, or how many wrote a text answer."""
    title = _title(q)
    if q["kind"] == "rating":
        ratings = {int(k): int(v) for k, v in (q.get("ratings") or {}).items()}
        mean = q.get("rating_mean")
        if mean is not None:
            title += f" (trung bình {mean:.2f})".replace(".", ",")
        bars = [Bar(str(r), ratings.get(r, 0)) for r in range(1, 6)]
        return str(bar_chart(bars, title=title))
    if q["kind"] == "text":
        return str(bar_chart([], title=f"{title}: {int(q.get('texts', 0))} câu trả lời"))
    share = q.get("right_share")
    if share is not None:
        title += f" (đúng {share:g}%)".replace(".", ",")
    bars = [Bar(f"{o['letter']}. {o['label']}", int(o["count"]), bool(o["correct"]))
            for o in q["options"]]
    return str(bar_chart(bars, title=title))


def _draw(form: TrainingForm) -> Charts:
    results = json.loads(form.results_json or "{}")
    charts = [{"question_id": q["id"], "svg": question_chart(q)}
              for q in results.get("questions", [])]
    body = json.dumps({"version": form.results_version, "charts": charts},
                      ensure_ascii=False, separators=(",", ":"))
    return Charts(form.results_version, body)


def form_charts(db: Session, form: TrainingForm) -> Charts:
    """The charts of the results the form last showed (404 form_results_not_shown)."""
    if form.results_json is None or form.id is None:
        raise errors.FormResultsNotShown()
    kept = _kept(db.get_bind())
    key = (form.id, form.results_version)
    charts = kept.get(key)
    if charts is None:
        charts = _draw(form)
        if len(kept) >= MAX_KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = charts
    return charts
