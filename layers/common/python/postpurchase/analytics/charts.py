"""Inline SVG charts, drawn on the server (pure: numbers and words in, markup out).

No script, no style attribute, nothing fetched: only presentation attributes, so the console's
strict CSP holds. Every chart is an `<svg role="img">` named by its `<title>` and described by
its `<desc>` (aria-labelledby / aria-describedby), and each bar or point carries its own
`<title>` (label: value). The words (title, description, "no data yet", formatted numbers and
dates) come from the template, already translated and formatted for the page's locale. A chart
is drawn left to right whatever the page's direction (`direction="ltr"`): time runs that way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34  # room for the value axis and the day labels
MUTED, AXIS, GRID = "#57606a", "#6e7781", "#d0d7de"
PALETTE = ("#0b57d0", "#b35c00", "#1a7f37", "#8250df", "#b42318")


@dataclass(frozen=True)
class Series:
    name: str  # its legend (translated)
    values: Sequence[float]
    value_texts: Sequence[str]  # each value formatted for the page's locale


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" direction="ltr" font-size="12" '
            f'aria-labelledby="{escape(chart_id)}-title" aria-describedby="{escape(chart_id)}-desc">',
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
            f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>']


def _empty(chart_id: str, title: str, desc: str, empty_text: str, height: int = 80) -> Markup:
    parts = _open(chart_id, title, desc, height)
    parts.append(f'<text class="chart-empty" x="{WIDTH / 2:g}" y="{height / 2:g}" text-anchor="middle" '
                 f'dominant-baseline="middle" fill="{MUTED}" font-size="14">{escape(empty_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def scale_top(highest: float) -> float:
    """A round top for the value axis, at or above the highest value (1, 2, 5 x 10^n)."""
    if highest <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= highest:
        step *= 10
    while step > highest:
        step /= 10
    for factor in (1, 2, 5, 10):
        if factor * step >= highest:
            return factor * step
    return 10 * step


def _label_every(count: int, room: int = 10) -> int:
    return max(1, -(-count // room))


def bars(chart_id: str, *, title: str, desc: str, empty_text: str, labels: Sequence[str],
         series: Sequence[Series], number: Callable[[float], str] = str) -> Markup:
    """Vertical bars, one group per label (a day), one bar per series, heights proportional to
    the values on a shared axis from 0 to a round top (`number` formats the axis' ends)."""
    values = [v for s in series for v in s.values]
    if not labels or not any(v > 0 for v in values):
        return _empty(chart_id, title, desc, empty_text)
    top = scale_top(max(values))
    top_text, zero_text = number(int(top) if top == int(top) else top), number(0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(labels)
    bar_w = max(1.0, slot * 0.8 / len(series))
    parts = _open(chart_id, title, desc, HEIGHT)
    base_y = TOP + plot_h
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" stroke="{GRID}"/>')
    parts.append(f'<line x1="{LEFT}" y1="{base_y}" x2="{WIDTH - RIGHT}" y2="{base_y}" stroke="{AXIS}"/>')
    parts.append(f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" fill="{MUTED}">{escape(top_text)}</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{base_y + 4}" text-anchor="end" fill="{MUTED}">{escape(zero_text)}</text>')
    every = _label_every(len(labels))
    for n, label in enumerate(labels):
        x0 = LEFT + n * slot + slot * 0.1
        for k, one in enumerate(series):
            value = one.values[n]
            height = plot_h * value / top if value > 0 else 0
            x = x0 + k * bar_w
            tip = f"{label}: {one.value_texts[n]}" if len(series) == 1 else f"{label}, {one.name}: {one.value_texts[n]}"
            parts.append(f'<rect class="bar" x="{x:.2f}" y="{base_y - height:.2f}" width="{bar_w:.2f}" '
                         f'height="{height:.2f}" fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(tip)}</title></rect>')
        if n % every == 0:
            parts.append(f'<text x="{LEFT + (n + 0.5) * slot:.2f}" y="{base_y + 16}" text-anchor="middle" '
                         f'fill="{MUTED}">{escape(label)}</text>')
    if len(series) > 1:
        parts.extend(_legend(series, HEIGHT - 4))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(series: Sequence[Series], y: float) -> list[str]:
    parts, x = [], float(LEFT)
    for k, one in enumerate(series):
        parts.append(f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14:.0f}" y="{y:.0f}" fill="#1f2328">{escape(one.name)}</text>')
        x += 24 + 8 * max(6, len(one.name))
    return parts


@dataclass(frozen=True)
class Bar:
    label: str  # what the bar is (a reason, a SKU, a star), translated
    value: float
    value_text: str  # the value as shown, formatted (a count, a percentage)


def hbars(chart_id: str, *, title: str, desc: str, empty_text: str, rows: Sequence[Bar],
          top: float | None = None) -> Markup:
    """Horizontal bars, one per row, lengths proportional to the values (to `top`, or to the
    largest value); the label on the left and the formatted value after the bar."""
    if not rows or not any(row.value > 0 for row in rows):
        return _empty(chart_id, title, desc, empty_text)
    largest = top if top is not None else max(row.value for row in rows)
    row_h, label_w, value_w = 24, 170, 70
    height = TOP + row_h * len(rows) + 6
    plot_w = WIDTH - label_w - value_w - RIGHT
    parts = _open(chart_id, title, desc, height)
    for n, row in enumerate(rows):
        y = TOP + n * row_h
        length = plot_w * row.value / largest if largest > 0 and row.value > 0 else 0
        parts.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" fill="#1f2328">'
                     f'{escape(_clip(row.label))}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{length:.2f}" height="{row_h - 8}" '
                     f'fill="{PALETTE[0]}"><title>{escape(row.label)}: {escape(row.value_text)}</title></rect>')
        parts.append(f'<text x="{label_w + length + 6:.2f}" y="{y + 13}" fill="{MUTED}">{escape(row.value_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, most: int = 24) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def line(chart_id: str, *, title: str, desc: str, empty_text: str, labels: Sequence[str],
         values: Sequence[float | None], value_texts: Sequence[str], low: float, high: float,
         low_text: str, high_text: str) -> Markup:
    """A line through the days that have a value (gaps where a day has none), on a fixed axis
    from `low` to `high` (the rating scale), a dot and a tooltip per day with a value."""
    if not labels or all(value is None for value in values):
        return _empty(chart_id, title, desc, empty_text)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(labels)
    base_y = TOP + plot_h
    parts = _open(chart_id, title, desc, HEIGHT)
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}" stroke="{GRID}"/>')
    parts.append(f'<line x1="{LEFT}" y1="{base_y}" x2="{WIDTH - RIGHT}" y2="{base_y}" stroke="{AXIS}"/>')
    parts.append(f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" fill="{MUTED}">{escape(high_text)}</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{base_y + 4}" text-anchor="end" fill="{MUTED}">{escape(low_text)}</text>')

    def point(n: int, value: float) -> tuple[float, float]:
        share = (min(max(value, low), high) - low) / (high - low) if high > low else 0
        return LEFT + (n + 0.5) * slot, base_y - plot_h * share

    run: list[str] = []
    runs: list[list[str]] = []
    for n, value in enumerate(values):
        if value is None:
            if run:
                runs.append(run)
            run = []
            continue
        x, y = point(n, value)
        run.append(f"{x:.2f},{y:.2f}")
    if run:
        runs.append(run)
    for segment in runs:
        if len(segment) > 1:
            parts.append(f'<polyline class="trend" points="{" ".join(segment)}" fill="none" stroke="{PALETTE[0]}" '
                         f'stroke-width="2"/>')
    every = _label_every(len(labels))
    for n, (label, value) in enumerate(zip(labels, values)):
        if value is not None:
            x, y = point(n, value)
            parts.append(f'<circle class="point" cx="{x:.2f}" cy="{y:.2f}" r="3.5" fill="{PALETTE[0]}">'
                         f'<title>{escape(label)}: {escape(value_texts[n])}</title></circle>')
        if n % every == 0:
            parts.append(f'<text x="{LEFT + (n + 0.5) * slot:.2f}" y="{base_y + 16}" text-anchor="middle" '
                         f'fill="{MUTED}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
