"""Charts drawn at build time as inline SVG (no JavaScript, nothing fetched when viewed).

Text in the charts uses `currentColor`, so the charts follow the light/dark palette; every label
is HTML-escaped. Each chart comes with its legend as an HTML list (it wraps on narrow screens).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Colour-blind-safe palette (Okabe–Ito, plus purple and grey), readable on light and dark.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7B61FF", "#8C8C8C"]


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def legend(items: list[tuple[str, str]]) -> Markup:
    """An HTML legend: [(label, colour)]."""
    rows = "".join(
        f'<li><span class="atlas-swatch" style="background:{escape(c)}"></span>{escape(label)}</li>'
        for label, c in items
    )
    return Markup(f'<ul class="atlas-legend">{rows}</ul>')


def stacked_bars(months: list[str], series: list[tuple[str, list[int]]], title: str) -> Markup:
    """A stacked bar chart: one bar per month (labels 'YYYY-MM'; a first label that is not a
    month, such as 'earlier', is drawn as is), series = [(name, counts)]."""
    n = len(months)
    left, right, top, bottom = 40.0, 10.0, 10.0, 36.0
    width = 800.0
    slot = (width - left - right) / max(n, 1)
    height = 260.0
    plot_h = height - top - bottom
    totals = [sum(counts[i] for _, counts in series) for i in range(n)]
    peak = max(totals, default=0) or 1
    step = _nice_step(peak / 4)
    y_max = step * math.ceil(peak / step)
    parts = [
        f'<svg class="atlas-svg" viewBox="0 0 {_fmt(width)} {_fmt(height)}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = top + plot_h - plot_h * tick / y_max
        parts.append(f'<line class="atlas-grid" x1="{_fmt(left)}" x2="{_fmt(width - right)}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(f'<text x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" text-anchor="end">{int(tick)}</text>')
        tick += step
    bar_w = max(slot * 0.8, 1.0)
    for i, month in enumerate(months):
        x = left + slot * i + (slot - bar_w) / 2
        base = top + plot_h
        for k, (name, counts) in enumerate(series):
            if not counts[i]:
                continue
            h = plot_h * counts[i] / y_max
            base -= h
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(base)}" width="{_fmt(bar_w)}" height="{_fmt(h)}" '
                f'fill="{color(k)}"><title>{escape(month)}: {escape(name)}: {counts[i]}</title></rect>'
            )
        if i == 0 or (month.endswith("-01") and i >= 6):  # no January label crowding the first one
            is_month = re.fullmatch(r"\d{4}-\d{2}", month) is not None
            label = month[:4] if is_month else month
            cx = left + slot * i + slot / 2
            anchor = "start" if i == 0 else "middle"
            parts.append(f'<line class="atlas-axis" x1="{_fmt(cx)}" x2="{_fmt(cx)}" y1="{_fmt(top + plot_h)}" y2="{_fmt(top + plot_h + 4)}"/>')
            parts.append(
                f'<text x="{_fmt(cx if i else left)}" y="{_fmt(top + plot_h + 18)}" text-anchor="{anchor}">{escape(label)}</text>'
            )
    parts.append(f'<line class="atlas-axis" x1="{_fmt(left)}" x2="{_fmt(width - right)}" y1="{_fmt(top + plot_h)}" y2="{_fmt(top + plot_h)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass
class Series:
    """One method's points on an accuracy-vs-compute plot."""

    name: str
    points: list[tuple[float, float, str]]  # (compute > 0, accuracy in %, label of the knob value)


def compute_plot(series: list[Series], x_label: str, title: str) -> Markup:
    """Accuracy (%) against compute on a log axis, one line per series, points sorted by compute."""
    xs = [x for s in series for x, _, _ in s.points if x > 0]
    width, height = 640.0, 320.0
    left, right, top, bottom = 48.0, 16.0, 12.0, 44.0
    plot_w, plot_h = width - left - right, height - top - bottom
    lo = math.floor(math.log10(min(xs))) if xs else 0
    hi = math.ceil(math.log10(max(xs))) if xs else 1
    if hi <= lo:
        hi = lo + 1

    def px(x: float) -> float:
        return left + plot_w * (math.log10(x) - lo) / (hi - lo)

    def py(acc: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(acc, 100.0)) / 100.0

    parts = [
        f'<svg class="atlas-svg" viewBox="0 0 {_fmt(width)} {_fmt(height)}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for acc in range(0, 101, 25):
        y = py(acc)
        parts.append(f'<line class="atlas-grid" x1="{_fmt(left)}" x2="{_fmt(width - right)}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(f'<text x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" text-anchor="end">{acc}%</text>')
    for decade in range(lo, hi + 1):
        x = px(10.0**decade)
        parts.append(f'<line class="atlas-grid" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{_fmt(top)}" y2="{_fmt(top + plot_h)}"/>')
        parts.append(f'<text x="{_fmt(x)}" y="{_fmt(top + plot_h + 16)}" text-anchor="middle">1e{decade}</text>')
    parts.append(
        f'<text x="{_fmt(left + plot_w / 2)}" y="{_fmt(height - 6)}" text-anchor="middle">{escape(x_label)}</text>'
    )
    for k, s in enumerate(series):
        points = sorted((x, y, label) for x, y, label in s.points if x > 0)
        if not points:
            continue
        c = color(k)
        coords = " ".join(f"{_fmt(px(x))},{_fmt(py(y))}" for x, y, _ in points)
        if len(points) > 1:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y, label in points:
            parts.append(
                f'<circle cx="{_fmt(px(x))}" cy="{_fmt(py(y))}" r="4" fill="{c}">'
                f"<title>{escape(s.name)} ({escape(label)}): {y:.1f}% at {x:.3g}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least `raw` (and at least 1)."""
    if raw <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * power >= raw:
            return float(mult * power)
    return 10.0 * power
