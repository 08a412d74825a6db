"""Bar charts as SVG, drawn by our own code (no chart library, nothing from outside).

One function for every chart in the product: the results every screen shows after a
form closes, the printed effectiveness report and its pages. Labels are escaped here;
the SVG has no script, no external reference and no inline style attribute that a
Content-Security-Policy would refuse (colours are presentation attributes), so it can
be inlined in a page or served as ``image/svg+xml``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

BAR: Final = "#2f6fb3"
HIGHLIGHT: Final = "#1f8a4c"  # a correct option
TRACK: Final = "#e6ebf1"
INK: Final = "#1b2733"


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label (e.g. "A. Hà Nội"), its value, and whether to highlight it."""

    label: str
    value: float
    highlight: bool = False
    #: What is written after the bar (default: the value, then the share in percent).
    note: str | None = None


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    bars: Sequence[Bar], *, title: str = "", width: int = 640, bar_height: int = 28,
    label_width: int = 220, max_value: float | None = None, label_chars: int = 32,
) -> Markup:
    """A horizontal bar chart: one row per bar, label left, bar, then count and share.

    Shares are of the sum of the values (e.g. the answers to a question) unless the bar
    carries its own `note`. An empty chart (no bars) still draws its title."""
    total = sum(max(b.value, 0) for b in bars)
    top = max_value if max_value else max((b.value for b in bars), default=0) or 1
    gap = 8
    head = 30 if title else 4
    height = head + len(bars) * (bar_height + gap) + 4
    track = width - label_width - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'font-family="sans-serif" font-size="15">'
    ]
    if title:
        parts.append(f'<text x="0" y="20" font-weight="bold" fill="{INK}">'
                     f'{escape(_short(title, 80))}</text>')
    for i, bar in enumerate(bars):
        y = head + i * (bar_height + gap)
        length = 0 if top <= 0 else max(0.0, min(1.0, bar.value / top)) * track
        share = f"{100.0 * bar.value / total:.0f}%" if total else "0%"
        note = bar.note if bar.note is not None else f"{bar.value:g} ({share})"
        colour = HIGHLIGHT if bar.highlight else BAR
        mid = y + bar_height / 2 + 5
        parts.append(
            f'<text x="0" y="{mid:.0f}" fill="{INK}">'
            f'{"✓ " if bar.highlight else ""}{escape(_short(bar.label, label_chars))}</text>'
            f'<rect x="{label_width}" y="{y}" width="{track}" height="{bar_height}" '
            f'fill="{TRACK}" rx="3"/>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{colour}" rx="3"/>'
            f'<text x="{label_width + track + 8}" y="{mid:.0f}" fill="{INK}">'
            f'{escape(note)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label and note is escaped above
