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
