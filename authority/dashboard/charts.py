"""Server-side SVG charts: no JavaScript, no external library, readable without colour.

Rules: the SVG is built from numbers only (labels are ISO weeks or period labels we
made), and every piece of text is escaped anyway. Bars carry a ``<title>`` (a tooltip
and a name for screen readers); error bars are drawn when the points carry them (DP
releases). Presentation attributes only — no inline ``style`` — so the page's Content
Security Policy can forbid inline styles.
"""

from __future__ import annotations

import math
from html import escape

from authority.dashboard.queries import Trend

WIDTH = 720
HEIGHT = 240
MARGIN_LEFT = 44
MARGIN_RIGHT = 12
MARGIN_TOP = 16
MARGIN_BOTTOM = 44


def _axis(value: float) -> tuple[float, float]:
    """(top, step): a round step of at least 1 (counts), about four ticks."""
    raw = max(value, 1.0) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(
        (m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude), 10 * magnitude
    )
    step = max(step, 1.0)
    return step * math.ceil(max(value, 1.0) / step), step


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def trend_svg(trend: Trend, *, title: str) -> str:
    points = trend.points
    top, step = _axis(max([p.value + p.error for p in points] + [1.0]))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.6, 2.0)

    def y(value: float) -> float:
        return MARGIN_TOP + plot_h * (1 - max(value, 0.0) / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="trend-title" class="chart">',
        f'<title id="trend-title">{escape(title)}</title>',
    ]
    for tick in range(round(top / step) + 1):
        value = step * tick
        ty = y(value)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'class="grid"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" class="tick">'
            f"{_fmt(value)}</text>"
        )
    for index, point in enumerate(points):
        x = MARGIN_LEFT + slot * index + (slot - bar_w) / 2
        bar_top = y(point.value)
        tooltip = f"{point.label}: {_fmt(point.value)}"
        if point.error:
            tooltip += f" ± {_fmt(point.error)}"
        parts.append(
            f'<rect x="{x:.1f}" y="{bar_top:.1f}" width="{bar_w:.1f}" '
            f'height="{max(MARGIN_TOP + plot_h - bar_top, 0):.1f}" rx="2" class="bar">'
            f"<title>{escape(tooltip)}</title></rect>"
        )
        if point.error:
            cx = x + bar_w / 2
            hi, lo = y(point.value + point.error), y(point.value - point.error)
            parts.append(
                f'<path d="M{cx:.1f} {hi:.1f}V{lo:.1f}M{cx - 5:.1f} {hi:.1f}H{cx + 5:.1f}'
                f'M{cx - 5:.1f} {lo:.1f}H{cx + 5:.1f}" class="errorbar"/>'
            )
        if len(points) <= 13 or index % 2 == 0:
            # Weeks show as "W47" under the bars; the full labels sit at both ends.
            short = point.label[-3:] if "-W" in point.label else point.label
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
                f'text-anchor="middle" class="tick">{escape(short)}</text>'
            )
    parts.append(
        f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{MARGIN_TOP + plot_h}" '
        f'y2="{MARGIN_TOP + plot_h}" class="axis"/>'
    )
    if points:
        first, last = points[0].label, points[-1].label
        parts.append(
            f'<text x="{MARGIN_LEFT}" y="{HEIGHT - 8}" class="range">{escape(first)}</text>'
            f'<text x="{WIDTH - MARGIN_RIGHT}" y="{HEIGHT - 8}" text-anchor="end" '
            f'class="range">{escape(last)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
