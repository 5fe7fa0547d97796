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
    # (compute > 0, accuracy in %, label of the knob value, 95% interval in % or None)
    points: list[tuple[float, float, str, tuple[float, float] | None]]


def _svg_open(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg class="atlas-svg" viewBox="0 0 {_fmt(width)} {_fmt(height)}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]


def _chance_line(y: float, x1: float, x2: float, chance: float) -> str:
    """A dashed horizontal line at chance level, labelled at its right end."""
    return (
        f'<g class="atlas-chance"><line x1="{_fmt(x1)}" x2="{_fmt(x2)}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>'
        f'<text x="{_fmt(x2 - 4)}" y="{_fmt(y - 4)}" text-anchor="end">chance {_fmt(100 * chance)}%</text></g>'
    )


def _whisker(x: float, y_low: float, y_high: float, colour: str) -> str:
    """A vertical interval with caps."""
    return (
        f'<g class="atlas-interval" stroke="{colour}"><line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{_fmt(y_low)}" y2="{_fmt(y_high)}"/>'
        f'<line x1="{_fmt(x - 4)}" x2="{_fmt(x + 4)}" y1="{_fmt(y_low)}" y2="{_fmt(y_low)}"/>'
        f'<line x1="{_fmt(x - 4)}" x2="{_fmt(x + 4)}" y1="{_fmt(y_high)}" y2="{_fmt(y_high)}"/></g>'
    )


def compute_plot(series: list[Series], x_label: str, title: str, chance: float | None = None, log: bool = True) -> Markup:
    """Accuracy (%) against compute, one line per series, points sorted by compute; the x axis is
    logarithmic (FLOPs) or linear (a knob's value). Intervals over seeds are drawn as whiskers
    and chance level as a dashed line."""
    xs = [x for s in series for x, *_ in s.points if x > 0 or not log]
    width, height = 640.0, 320.0
    left, right, top, bottom = 48.0, 16.0, 12.0, 44.0
    plot_w, plot_h = width - left - right, height - top - bottom
    if log:
        lo = math.floor(math.log10(min(xs))) if xs else 0
        hi = math.ceil(math.log10(max(xs))) if xs else 1
        hi = max(hi, lo + 1)
        ticks = [(10.0**d, f"1e{d}") for d in range(lo, hi + 1)]
        scale = (lo, hi)
    else:
        lo, hi = min(xs, default=0), max(xs, default=1)
        lo, hi = min(lo, 0), hi if hi > lo else lo + 1
        step = _nice_step((hi - lo) / 6) if hi - lo > 6 else 1.0
        ticks = [(lo + step * i, _fmt(lo + step * i)) for i in range(int((hi - lo) / step) + 1)]
        scale = (lo, hi)

    def px(x: float) -> float:
        value = math.log10(x) if log else x
        return left + plot_w * (value - scale[0]) / (scale[1] - scale[0])

    def py(acc: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(acc, 100.0)) / 100.0

    parts = _svg_open(width, height, title)
    for acc in range(0, 101, 25):
        y = py(acc)
        parts.append(f'<line class="atlas-grid" x1="{_fmt(left)}" x2="{_fmt(width - right)}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(f'<text x="{_fmt(left - 6)}" y="{_fmt(y + 4)}" text-anchor="end">{acc}%</text>')
    for value, label in ticks:
        x = px(value)
        parts.append(f'<line class="atlas-grid" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{_fmt(top)}" y2="{_fmt(top + plot_h)}"/>')
        parts.append(f'<text x="{_fmt(x)}" y="{_fmt(top + plot_h + 16)}" text-anchor="middle">{escape(label)}</text>')
    parts.append(
        f'<text x="{_fmt(left + plot_w / 2)}" y="{_fmt(height - 6)}" text-anchor="middle">{escape(x_label)}</text>'
    )
    if chance is not None:
        parts.append(_chance_line(py(100 * chance), left, width - right, chance))
    for k, s in enumerate(series):
        points = sorted((p for p in s.points if p[0] > 0 or not log), key=lambda p: p[0])
        if not points:
            continue
        c = color(k)
        coords = " ".join(f"{_fmt(px(x))},{_fmt(py(y))}" for x, y, *_ in points)
        if len(points) > 1:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y, label, ci in points:
            if ci is not None:
                parts.append(_whisker(px(x), py(ci[0]), py(ci[1]), c))
            interval = f" (95% interval {ci[0]:.1f}–{ci[1]:.1f})" if ci else ""
            parts.append(
                f'<circle cx="{_fmt(px(x))}" cy="{_fmt(py(y))}" r="4" fill="{c}">'
                f"<title>{escape(s.name)} ({escape(label)}): {y:.1f}%{interval} at {x:.3g}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def accuracy_bars(rows: list[tuple[str, float, tuple[float, float] | None, bool]], title: str, chance: float | None = None) -> Markup:
    """Horizontal accuracy bars, one per (label, accuracy in %, 95% interval or None, too short);
    intervals as whiskers, chance level as a dashed line; too-short runs drawn hatched-pale."""
    bar_h, gap = 18.0, 8.0
    left, right, top, bottom = 250.0, 16.0, 8.0, 30.0
    width = 720.0
    height = top + bottom + len(rows) * (bar_h + gap)
    plot_w = width - left - right

    def px(acc: float) -> float:
        return left + plot_w * max(0.0, min(acc, 100.0)) / 100.0

    parts = _svg_open(width, height, title)
    for acc in range(0, 101, 25):
        x = px(acc)
        parts.append(f'<line class="atlas-grid" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{_fmt(top)}" y2="{_fmt(height - bottom)}"/>')
        parts.append(f'<text x="{_fmt(x)}" y="{_fmt(height - bottom + 16)}" text-anchor="middle">{acc}%</text>')
    for i, (label, acc, ci, short) in enumerate(rows):
        y = top + i * (bar_h + gap)
        c = color(i)
        note = " (run too short to mean anything)" if short else ""
        parts.append(f'<text x="{_fmt(left - 6)}" y="{_fmt(y + bar_h - 5)}" text-anchor="end">{escape(label)}</text>')
        opacity = ' fill-opacity="0.35"' if short else ""
        parts.append(
            f'<rect x="{_fmt(left)}" y="{_fmt(y)}" width="{_fmt(px(acc) - left)}" height="{_fmt(bar_h)}" fill="{c}"'
            f"{opacity}><title>{escape(label)}: {acc:.1f}%{note}</title></rect>"
        )
        if ci is not None:
            mid = y + bar_h / 2
            parts.append(
                f'<g class="atlas-interval"><line x1="{_fmt(px(ci[0]))}" x2="{_fmt(px(ci[1]))}" y1="{_fmt(mid)}" y2="{_fmt(mid)}"/>'
                f'<line x1="{_fmt(px(ci[0]))}" x2="{_fmt(px(ci[0]))}" y1="{_fmt(mid - 4)}" y2="{_fmt(mid + 4)}"/>'
                f'<line x1="{_fmt(px(ci[1]))}" x2="{_fmt(px(ci[1]))}" y1="{_fmt(mid - 4)}" y2="{_fmt(mid + 4)}"/></g>'
            )
    if chance is not None:
        x = px(100 * chance)
        parts.append(
            f'<g class="atlas-chance"><line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{_fmt(top)}" y2="{_fmt(height - bottom)}"/>'
            f'<text x="{_fmt(x + 4)}" y="{_fmt(height - bottom - 4)}">chance {_fmt(100 * chance)}%</text></g>'
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
