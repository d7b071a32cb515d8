"""Server-rendered SVG charts for the dashboard: no JavaScript, nothing from a CDN.

`bar_chart` draws one bar per time bucket (all queries, with the blocked part in red on top of
it), a light grid with round-number labels, and a `<title>` on each bar so hovering (or a screen
reader) gives the exact figures. Every label is escaped; the output is marked safe only here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Bucket:
    label: str
    total: int
    blocked: int


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** int(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def bar_chart(buckets: Sequence[Bucket], *, width: int = 720, height: int = 200) -> SafeString:
    left, bottom, top = 48, 22, 8
    plot_w, plot_h = width - left - 4, height - bottom - top
    peak = _nice_max(max((b.total for b in buckets), default=0))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Queries and blocks over time" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):
        value = peak * i // 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e8ef"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6775">{value:,}</text>'
        )
    count = max(len(buckets), 1)
    slot = plot_w / count
    bar = max(slot * 0.8, 1)
    every = max(1, math.ceil(count / 8))
    for i, b in enumerate(buckets):
        x = left + i * slot + (slot - bar) / 2
        h_total = plot_h * b.total / peak
        h_blocked = plot_h * b.blocked / peak
        label = html.escape(b.label)
        parts.append(
            f"<g><title>{label}: {b.total:,} queries, {b.blocked:,} blocked</title>"
            f'<rect x="{x:.1f}" y="{top + plot_h - h_total:.1f}" width="{bar:.1f}" '
            f'height="{h_total:.1f}" fill="#9cb8d9"/>'
            f'<rect x="{x:.1f}" y="{top + plot_h - h_blocked:.1f}" width="{bar:.1f}" '
            f'height="{h_blocked:.1f}" fill="#b3261e"/></g>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                f'font-size="11" fill="#5b6775">{label}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every value above is a number or escaped


@dataclass(frozen=True)
class Bar:
    """One row of a ranked chart: the label and the figure as the reader may see it.

    `shown` is a number (`"42"`) or a band from the governors' small-count suppression
    (`"fewer than 5"`, `"5 or more"`): a band is drawn as a dashed outline up to the band's
    edge, never at its true length, so the picture gives away no more than the words."""

    label: str
    shown: str
    red: bool = False


def ranked_chart(bars: Sequence[Bar], *, width: int = 440, title: str = "") -> SafeString:
    """Horizontal bars in the order given, with the figure at the end of each bar. Labels that
    do not fit beside the bars go on their own line above them."""
    label_w = min(180, width * 2 // 5)
    stacked = any(len(b.label) > label_w // 7 for b in bars)
    if stacked:
        label_w = 0
    row_h, value_w = (40 if stacked else 24), 96
    plot_w = width - label_w - value_w - (4 if stacked else 0)
    values = [_value(b.shown) for b in bars]
    peak = _nice_max(max((v for v, _ in values), default=0))
    height = max(len(bars), 1) * row_h + 4
    parts = [
        f'<svg class="chart ranked" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{html.escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (b, (value, banded)) in enumerate(zip(bars, values, strict=True)):
        top = 2 + i * row_h
        y = top + 16 if stacked else top  # the bar's row
        bar_h = 24
        w = max(plot_w * value / peak, 1.5 if value else 0)
        shown = html.escape(b.shown)
        fill = "#b3261e" if b.red else "#5f86b8"
        style = (
            f'fill="none" stroke="{fill}" stroke-dasharray="3 2"' if banded else f'fill="{fill}"'
        )
        if stacked:
            label = (
                f'<text x="0" y="{top + 12}" font-size="12" fill="#1d2733">'
                f"{html.escape(_clip(b.label, width))}</text>"
            )
        else:
            label = (
                f'<text x="{label_w - 6}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end" '
                f'font-size="12" fill="#1d2733">{html.escape(_clip(b.label, label_w))}</text>'
            )
        parts.append(
            f"<g><title>{html.escape(b.label)}: {shown}</title>{label}"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{bar_h - 8}" {style}/>'
            f'<text x="{label_w + w + 5:.1f}" y="{y + bar_h / 2 + 4:.1f}" font-size="12" '
            f'fill="#5b6775">{shown}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every value above is a number or escaped


def _value(shown: str) -> tuple[int, bool]:
    """The length to draw and whether it is a band: "fewer than 5" and "5 or more" both draw
    to 5, the only edge the words give."""
    digits = shown.replace(",", "")
    if digits.isdigit():
        return int(digits), False
    edge = [int(w) for w in shown.split() if w.isdigit()]
    return (edge[0] if edge else 0), True


def _clip(text: str, room: int) -> str:
    most = max(room * 10 // 67, 4)  # about 6.7 px a character at 12 px
    return text if len(text) <= most else text[: most - 1] + "…"
