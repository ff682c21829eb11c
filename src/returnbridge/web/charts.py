"""Server-rendered SVG charts: no script, no CDN, allowed by the CSP. Each chart has a ``<title>`` (its name for
screen readers and on hover per bar/point) and is shown beside a table with the same values; every text is
escaped."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

Number = int | Decimal

WIDTH = 560
BAR_HEIGHT = 22
LABEL_WIDTH = 170
COLOURS = 5


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(title: str, items: Sequence[tuple[str, Number]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value); values must share one unit (never mixed currencies)."""
    height = max(1, len(items)) * BAR_HEIGHT + 30
    top = max((float(v) for _, v in items), default=0.0) or 1.0
    room = WIDTH - LABEL_WIDTH - 80
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(items):
        y = 10 + index * BAR_HEIGHT
        length = max(1.0, float(value) / top * room) if value else 0.0
        text = f"{label}: {value}{(' ' + unit) if unit else ''}"
        parts.append(
            f'<g><title>{escape(text)}</title>'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(_short(label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{escape(str(value))}</text></g>'
        )
    if not items:
        parts.append(f'<text x="{WIDTH / 2}" y="25" text-anchor="middle">No data for this period</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, xs: Sequence[str], series: dict[str, Sequence[int]]) -> Markup:
    """One line per series over the same x labels (weeks); a legend names each line."""
    height, left, bottom, right = 240, 40, 40, 16
    plot_w, plot_h = WIDTH - left - right, height - bottom - 20 - 18 * ((len(series) + 1) // 2)
    top = max((v for values in series.values() for v in values), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{20 + plot_h}" x2="{left + plot_w}" y2="{20 + plot_h}"/>',
        f'<text x="{left - 4}" y="24" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{20 + plot_h}" text-anchor="end">0</text>',
    ]
    step = plot_w / max(1, len(xs) - 1)
    for index, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{left + i * step:.1f},{20 + plot_h - v / top * plot_h:.1f}" for i, v in enumerate(values)
        )
        colour = f"s{index % COLOURS}"
        parts.append(f'<polyline class="line {colour}" points="{points}"><title>{escape(name)}</title></polyline>')
        for i, v in enumerate(values):
            parts.append(
                f'<circle class="line {colour}" cx="{left + i * step:.1f}" cy="{20 + plot_h - v / top * plot_h:.1f}" '
                f'r="2.5"><title>{escape(f"{name}, week of {xs[i]}: {v}")}</title></circle>'
            )
        ly = height - 8 - 18 * (index // 2)
        lx = left + (index % 2) * (plot_w / 2)
        parts.append(f'<line class="line {colour}" x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 18:.1f}" y2="{ly - 4}"/>'
                     f'<text x="{lx + 22:.1f}" y="{ly}">{escape(_short(name, 34))}</text>')
    if xs:
        parts.append(f'<text x="{left}" y="{20 + plot_h + 14}">{escape(xs[0])}</text>')
        parts.append(f'<text x="{left + plot_w}" y="{20 + plot_h + 14}" text-anchor="end">{escape(xs[-1])}</text>')
    else:
        parts.append(f'<text x="{WIDTH / 2}" y="60" text-anchor="middle">No data for this period</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
