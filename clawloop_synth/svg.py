"""Charts as plain SVG text: horizontal bars, a histogram, points, lines, and a 2-D density under points.

The coverage stage and the report drew their figures with matplotlib, whose import and layout took about
a second of every ``run`` (0.5 s to import, 0.1 s a figure) for charts that are a few rectangles and
dots. These are written directly: no dependency, crisp at any zoom, and small enough to embed in the
report's HTML as ``data:`` URIs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

__all__ = ["bars", "density", "histogram", "lines", "scatter"]

BLUE, RED, ORANGE = "#1f77b4", "#d62728", "#ff7f0e"
PALETTE = (BLUE, ORANGE, "#2ca02c", RED, "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_FONT = "font-family='DejaVu Sans, Arial, sans-serif'"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.2g}"


class _Frame:
    """A plot area of ``width`` x ``height`` pixels with margins, mapping data ranges to pixels."""

    def __init__(self, width: int, height: int, left: int, title: str, x_range: tuple[float, float],
                 y_range: tuple[float, float], *, bottom: int = 44) -> None:
        self.width, self.height, self.left, self.top, self.bottom = width, height, left, 30, bottom
        self.right = 16
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
                      f"viewBox='0 0 {width} {height}' {_FONT} font-size='11'>",
                      f"<rect width='{width}' height='{height}' fill='white'/>",
                      f"<text x='{width / 2:.1f}' y='18' text-anchor='middle' font-size='13'>{escape(title)}</text>"]

    def px(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (x - self.x0) / span * (self.width - self.left - self.right)

    def py(self, y: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.height - self.bottom - (y - self.y0) / span * (self.height - self.top - self.bottom)

    def axes(self, xlabel: str, ylabel: str, *, x_ticks: bool = True, y_ticks: bool = True) -> None:
        left, right = self.left, self.width - self.right
        top, base = self.top, self.height - self.bottom
        self.parts.append(f"<rect x='{left}' y='{top}' width='{right - left}' height='{base - top}' fill='none' "
                          "stroke='#444' stroke-width='0.8'/>")
        if x_ticks:
            for tick in _nice_ticks(self.x0, self.x1):
                if self.x0 - 1e-12 <= tick <= self.x1 + 1e-12:
                    x = self.px(tick)
                    self.parts.append(f"<line x1='{x:.1f}' y1='{base}' x2='{x:.1f}' y2='{base + 4}' stroke='#444'/>"
                                      f"<text x='{x:.1f}' y='{base + 15}' text-anchor='middle'>{_label(tick)}</text>")
        if y_ticks:
            for tick in _nice_ticks(self.y0, self.y1):
                if self.y0 - 1e-12 <= tick <= self.y1 + 1e-12:
                    y = self.py(tick)
                    self.parts.append(f"<line x1='{left - 4}' y1='{y:.1f}' x2='{left}' y2='{y:.1f}' stroke='#444'/>"
                                      f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>{_label(tick)}</text>")
        self.parts.append(f"<text x='{(left + right) / 2:.1f}' y='{self.height - 8}' text-anchor='middle'>"
                          f"{escape(xlabel)}</text>")
        if ylabel:
            y = (top + base) / 2
            self.parts.append(f"<text x='12' y='{y:.1f}' text-anchor='middle' transform='rotate(-90 12 {y:.1f})'>"
                              f"{escape(ylabel)}</text>")

    def text(self) -> str:
        return "".join(self.parts) + "</svg>"


def _range(values: Sequence[float] | np.ndarray, *, zero: bool = False) -> tuple[float, float]:
    finite = [float(v) for v in values if math.isfinite(float(v))]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        low, high = low - 0.5, high + 0.5
    pad = 0.0 if zero else 0.04 * (high - low)
    return low - pad, high + pad


def bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
         highlight: Sequence[bool] | None = None) -> str:
    """Horizontal bars in the order given (the first on top); ``highlight`` draws some in red."""
    shown = [str(label)[:60] for label in labels]
    left = int(min(420, 12 + 6.2 * max((len(s) for s in shown), default=4)))
    row = 18
    frame = _Frame(760, max(110, 30 + 44 + row * len(shown)), left, title,
                   (0.0, max([float(v) for v in values] + [0.0]) * 1.05 or 1.0), (0.0, float(max(1, len(shown)))))
    frame.axes(xlabel, "", y_ticks=False)
    marks = highlight or [False] * len(shown)
    for i, (label, value, red) in enumerate(zip(shown, values, marks, strict=False)):
        y = frame.top + i * row
        x = frame.px(0.0)
        frame.parts.append(f"<rect x='{x:.1f}' y='{y + 3:.1f}' width='{max(0.0, frame.px(float(value)) - x):.1f}' "
                           f"height='{row - 6}' fill='{RED if red else BLUE}'><title>{escape(label)}: "
                           f"{_label(float(value))}</title></rect>"
                           f"<text x='{left - 6}' y='{y + row / 2 + 4:.1f}' text-anchor='end' font-size='10'>"
                           f"{escape(label)}</text>")
    return frame.text()


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 20) -> str:
    """Counts of ``values`` in ``bins`` equal bins."""
    data = np.asarray([v for v in values if math.isfinite(float(v))], dtype=float)
    counts, edges = np.histogram(data, bins=bins) if len(data) else (np.zeros(bins), np.linspace(0, 1, bins + 1))
    frame = _Frame(640, 340, 52, title, (float(edges[0]), float(edges[-1])), (0.0, float(max(counts.max(), 1)) * 1.05))
    frame.axes(xlabel, "count")
    for count, low, high in zip(counts, edges[:-1], edges[1:], strict=True):
        if count:
            x, y = frame.px(float(low)), frame.py(float(count))
            frame.parts.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{frame.px(float(high)) - x - 1:.1f}' "
                               f"height='{frame.py(0.0) - y:.1f}' fill='{BLUE}'/>")
    return frame.text()


def scatter(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str) -> str:
    """One dot per (x, y)."""
    frame = _Frame(640, 340, 52, title, _range(x), _range(y))
    frame.axes(xlabel, ylabel)
    frame.parts.extend(f"<circle cx='{frame.px(float(a)):.1f}' cy='{frame.py(float(b)):.1f}' r='2.5' fill='{ORANGE}' "
                       "fill-opacity='0.8'/>" for a, b in zip(x, y, strict=True))
    return frame.text()


def lines(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str,
          ylabel: str) -> str:
    """One line with markers per named series of (x, y), with a legend."""
    xs = [float(v) for x, _ in series.values() for v in x]
    ys = [float(v) for _, y in series.values() for v in y]
    frame = _Frame(640, 360, 52, title, _range(xs), _range(ys))
    frame.axes(xlabel, ylabel)
    for i, (name, (x, y)) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{frame.px(float(a)):.1f},{frame.py(float(b)):.1f}" for a, b in zip(x, y, strict=True))
        frame.parts.append(f"<polyline points='{points}' fill='none' stroke='{color}' stroke-width='1.5'/>")
        frame.parts.extend(f"<circle cx='{frame.px(float(a)):.1f}' cy='{frame.py(float(b)):.1f}' r='2.5' "
                           f"fill='{color}'/>" for a, b in zip(x, y, strict=True))
        frame.parts.append(f"<rect x='{frame.left + 8}' y='{frame.top + 6 + 14 * i}' width='10' height='10' "
                           f"fill='{color}'/><text x='{frame.left + 22}' y='{frame.top + 15 + 14 * i}' "
                           f"font-size='10'>{escape(str(name)[:40])}</text>")
    return frame.text()


def density(background: np.ndarray, points: np.ndarray, title: str, xlabel: str, ylabel: str, *,
            background_label: str, points_label: str, grid: int = 30) -> str:
    """``background`` (n x 2) as a grid of cells shaded by log count, ``points`` (m x 2) as dots on top."""
    both = np.vstack([background, points]) if len(points) else background
    frame = _Frame(640, 520, 52, title, _range(both[:, 0]), _range(both[:, 1]))
    frame.axes(xlabel, ylabel)
    if len(background):
        counts, xe, ye = np.histogram2d(background[:, 0], background[:, 1], bins=grid,
                                        range=[[frame.x0, frame.x1], [frame.y0, frame.y1]])
        top = math.log1p(float(counts.max()) or 1.0)
        for i, j in zip(*np.nonzero(counts), strict=True):
            shade = 0.15 + 0.85 * math.log1p(float(counts[i, j])) / top
            x, y = frame.px(float(xe[i])), frame.py(float(ye[j + 1]))
            frame.parts.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{frame.px(float(xe[i + 1])) - x:.1f}' "
                               f"height='{frame.py(float(ye[j])) - y:.1f}' fill='{BLUE}' fill-opacity='{shade:.2f}'/>")
    frame.parts.extend(f"<circle cx='{frame.px(float(a)):.1f}' cy='{frame.py(float(b)):.1f}' r='2' fill='{ORANGE}' "
                       "fill-opacity='0.75'/>" for a, b in points)
    right = frame.width - frame.right
    frame.parts.append(f"<rect x='{right - 190}' y='{frame.top + 6}' width='10' height='10' fill='{BLUE}' "
                       f"fill-opacity='0.6'/><text x='{right - 176}' y='{frame.top + 15}' font-size='10'>"
                       f"{escape(background_label)}</text>"
                       f"<circle cx='{right - 185}' cy='{frame.top + 27}' r='3' fill='{ORANGE}'/>"
                       f"<text x='{right - 176}' y='{frame.top + 31}' font-size='10'>{escape(points_label)}</text>")
    return frame.text()
