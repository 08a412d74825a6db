"""The effectiveness report's figures and rows: sums per site, rolled up the site tree.

A row keeps SUMS only (right answers and scored responses, answers, present, ratings,
paired differences); every mean, rate and gain is derived from them at the end, so a
hub's, a province's or the conference's figure is never an average of averages.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from app.text import search_key

Level = Literal["site", "hub", "province"]
SortKey = Literal[
    "tree", "name", "participation", "pre", "post", "change", "gain", "paired", "satisfaction"
]
RowFilter = Literal["no_answers", "low_participation", "declined"]
LEVEL_LABELS: dict[str, str] = {
    "site": "Điểm cầu", "hub": "Cụm (điểm cầu có đơn vị trực thuộc)", "province": "Tỉnh, thành",
}
SORT_LABELS: dict[str, str] = {
    "tree": "Theo cây điểm cầu", "name": "Tên", "participation": "Tỷ lệ trả lời",
    "pre": "Điểm đầu vào", "post": "Điểm đầu ra", "change": "Mức thay đổi",
    "gain": "Chỉ số tiến bộ g", "paired": "Thay đổi theo cặp", "satisfaction": "Mức hài lòng",
}
FILTER_LABELS: dict[str, str] = {
    "no_answers": "Chưa có câu trả lời",
    "low_participation": "Dưới một nửa số có mặt trả lời",
    "declined": "Điểm đầu ra thấp hơn đầu vào",
}


def _percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class Figures:
    """Sums of a site, of a subtree, of a province or of the whole report."""

    sites: int = 0
    present: int = 0
    #: Answers per form id: phone answers plus the people of the rooms' tallies.
    answers: dict[int, int] = field(default_factory=dict)
    pre_right: int = 0
    pre_scored: int = 0
    post_right: int = 0
    post_scored: int = 0
    #: Sum over attendees who took both tests with their code of (post − pre score).
    paired_sum: float = 0.0
    pairs: int = 0
    rating_sum: int = 0
    rating_count: int = 0

    def add(self, other: "Figures") -> None:
        """Add another set of sums to this one."""
        self.sites += other.sites
        self.present += other.present
        for form_id, n in other.answers.items():
            self.answers[form_id] = self.answers.get(form_id, 0) + n
        self.pre_right += other.pre_right
        self.pre_scored += other.pre_scored
        self.post_right += other.post_right
        self.post_scored += other.post_scored
        self.paired_sum += other.paired_sum
        self.pairs += other.pairs
        self.rating_sum += other.rating_sum
        self.rating_count += other.rating_count

    def copy(self) -> "Figures":
        """A copy to sum into (the site's own figures stay as they are)."""
        out = Figures()
        out.add(self)
        return out

    def participation(self, form_id: int | None) -> float | None:
        """Answers to a form over present, in percent (None: nobody present)."""
        if form_id is None:
            return None
        return _percent(self.answers.get(form_id, 0), self.present)

    @property
    def pre_mean(self) -> float | None:
        """Mean pre-test score: 100 × right / scored responses."""
        return _percent(self.pre_right, self.pre_scored)

    @property
    def post_mean(self) -> float | None:
        """Mean post-test score: 100 × right / scored responses."""
        return _percent(self.post_right, self.post_scored)

    def _exact(self) -> tuple[float, float] | None:
        """(pre, post) means unrounded: the change and g are computed before rounding."""
        if not self.pre_scored or not self.post_scored:
            return None
        return (100.0 * self.pre_right / self.pre_scored,
                100.0 * self.post_right / self.post_scored)

    @property
    def change(self) -> float | None:
        """Post − pre mean, in points."""
        means = self._exact()
        return None if means is None else round(means[1] - means[0], 1)

    @property
    def gain(self) -> float | None:
        """The normalised gain g = (post − pre) / (100 − pre); None when pre is 100 or missing."""
        means = self._exact()
        if means is None or means[0] >= 100.0:
            return None
        return round((means[1] - means[0]) / (100.0 - means[0]), 3)

    @property
    def paired_change(self) -> float | None:
        """Mean of each paired attendee's own change, in points."""
        return round(self.paired_sum / self.pairs, 1) if self.pairs else None

    @property
    def satisfaction(self) -> float | None:
        """Mean rating (1–5) over the surveys' rating questions."""
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None


@dataclass
class EffectRow:
    """One line of a level: a site (own figures), a hub (its subtree) or a province."""

    site_id: int | None
    parent_id: int | None
    name: str
    code: str | None
    kind_label: str
    depth: int
    group: str
    figures: Figures
    order: int = 0


def roll_up(rows: list[EffectRow]) -> dict[int, Figures]:
    """Each site's subtree sums (rows in tree order: children after their parent)."""
    subtree = {r.site_id: r.figures.copy() for r in rows if r.site_id is not None}
    for row in reversed(rows):
        if row.parent_id is not None and row.parent_id in subtree and row.site_id is not None:
            subtree[row.parent_id].add(subtree[row.site_id])
    return subtree


def hub_rows(rows: list[EffectRow]) -> list[EffectRow]:
    """Every site with sites below it in the report, with its whole subtree's sums."""
    parents = {r.parent_id for r in rows}
    subtree = roll_up(rows)
    return [
        EffectRow(r.site_id, r.parent_id, r.name, r.code, r.kind_label, r.depth, r.group,
                  subtree[r.site_id], r.order)
        for r in rows if r.site_id is not None and r.site_id in parents
    ]


def province_rows(rows: list[EffectRow], heads: Iterable[tuple[int | None, str]]
                  ) -> list[EffectRow]:
    """One row per province (the attendance report's groups), summed from its sites."""
    out: dict[str, EffectRow] = {}
    for order, (site_id, name) in enumerate(heads):
        out[name] = EffectRow(site_id, None, name, None, "", 0, name, Figures(), order)
    for r in rows:
        group = out.get(r.group)
        if group is not None:
            group.figures.add(r.figures)
    return list(out.values())


def totals(rows: Iterable[EffectRow]) -> Figures:
    """The sums of every site's own figures."""
    out = Figures()
    for r in rows:
        out.add(r.figures)
    return out


def _keep(row: EffectRow, flt: RowFilter | None, post_id: int | None, key: str) -> bool:
    f = row.figures
    if key and key not in search_key(row.name):
        return False
    if flt == "no_answers":
        return not any(f.answers.values())
    if flt == "low_participation":
        share = f.participation(post_id)
        return share is not None and share < 50.0
    if flt == "declined":
        return f.change is not None and f.change < 0
    return True


def _sort_value(sort: SortKey, post_id: int | None) -> Callable[[EffectRow], float | None]:
    values: dict[str, Callable[[EffectRow], float | None]] = {
        "participation": lambda r: r.figures.participation(post_id),
        "pre": lambda r: r.figures.pre_mean,
        "post": lambda r: r.figures.post_mean,
        "change": lambda r: r.figures.change,
        "gain": lambda r: r.figures.gain,
        "paired": lambda r: r.figures.paired_change,
        "satisfaction": lambda r: r.figures.satisfaction,
    }
    return values[sort]


def select_rows(rows: list[EffectRow], *, post_id: int | None, q: str | None = None,
                filter: RowFilter | None = None, sort: SortKey = "tree",
                desc: bool = False) -> list[EffectRow]:
    """Rows filtered, searched without diacritics and sorted (rows without the figure last)."""
    key = search_key(q) if q else ""
    kept = [r for r in rows if _keep(r, filter, post_id, key)]
    if sort == "tree":
        return kept[::-1] if desc else kept
    if sort == "name":
        return sorted(kept, key=lambda r: search_key(r.name), reverse=desc)
    value = _sort_value(sort, post_id)
    known = [r for r in kept if value(r) is not None]
    unknown = [r for r in kept if value(r) is None]
    known.sort(key=lambda r: value(r) or 0.0, reverse=desc)
    return known + unknown


def figures_body(f: Figures, form_ids: Iterable[int]) -> dict[str, object]:
    """The JSON of a set of figures: the sums, and what is derived from them."""
    return {
        "sites": f.sites, "present": f.present,
        "answers": {str(i): f.answers.get(i, 0) for i in form_ids},
        "participation": {str(i): f.participation(i) for i in form_ids},
        "pre_right": f.pre_right, "pre_scored": f.pre_scored, "pre_mean": f.pre_mean,
        "post_right": f.post_right, "post_scored": f.post_scored, "post_mean": f.post_mean,
        "change": f.change, "gain": f.gain,
        "pairs": f.pairs, "paired_sum": round(f.paired_sum, 2),
        "paired_change": f.paired_change,
        "rating_sum": f.rating_sum, "rating_count": f.rating_count,
        "satisfaction": f.satisfaction,
    }


def row_body(row: EffectRow, form_ids: list[int]) -> dict[str, object]:
    """The JSON of one row: where it is in the tree, then its figures."""
    return {"site_id": row.site_id, "parent_id": row.parent_id, "name": row.name,
            "code": row.code, "kind_label": row.kind_label, "depth": row.depth,
            "group": row.group, **figures_body(row.figures, form_ids)}
