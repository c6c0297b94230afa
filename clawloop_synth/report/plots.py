"""The report's figures: SVG charts (``clawloop_synth.svg``) embedded as ``data:`` URIs (no files, no network)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path

from clawloop_synth import svg

__all__ = ["bar_chart", "file_uri", "histogram", "line_chart", "scatter"]

_SNIFF = {b"\x89PNG\r\n\x1a\n": "image/png", b"<svg": "image/svg+xml", b"<?xml": "image/svg+xml"}


def _uri(text: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def file_uri(path: Path) -> str | None:
    """A figure written by a stage (a PNG, or an SVG such as the coverage map) as a data URI; None when it
    is not there or is neither."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    kind = next((mime for head, mime in _SNIFF.items() if data.lstrip()[:len(head)] == head), None)
    return None if kind is None else f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
              highlight: Sequence[bool] | None = None) -> str:
    """Horizontal bars, largest first as given; ``highlight`` draws some bars in red."""
    return _uri(svg.bars(labels, values, title, xlabel, highlight))


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 20) -> str:
    return _uri(svg.histogram(values, title, xlabel, bins))


def scatter(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str) -> str:
    return _uri(svg.scatter(x, y, title, xlabel, ylabel))


def line_chart(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str,
               ylabel: str) -> str:
    """One line per named series of (x, y)."""
    return _uri(svg.lines(series, title, xlabel, ylabel))
