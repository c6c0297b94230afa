"""The report's figures: matplotlib (Agg) drawn to PNG and embedded as ``data:`` URIs (no files, no network)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["bar_chart", "file_uri", "histogram", "line_chart", "scatter"]


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _uri(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def file_uri(path: Path) -> str | None:
    """A PNG written by a stage (e.g. the coverage map) as a data URI; None when it is not there."""
    if not path.is_file() or path.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
              highlight: Sequence[bool] | None = None) -> str:
    """Horizontal bars, largest first as given; ``highlight`` draws some bars in red."""
    height = max(2.2, 0.28 * len(labels) + 1.0)
    fig, ax = _figure(8.0, height)
    colors = ["tab:red" if h else "tab:blue" for h in (highlight or [False] * len(labels))]
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)), [label[:60] for label in labels], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    return _uri(fig)


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 20) -> str:
    fig, ax = _figure(6.4, 3.4)
    ax.hist(list(values), bins=bins, color="tab:blue", edgecolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title, fontsize=10)
    return _uri(fig)


def scatter(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str) -> str:
    fig, ax = _figure(6.4, 3.4)
    ax.scatter(list(x), list(y), s=10, color="tab:orange", alpha=0.8, linewidths=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return _uri(fig)


def line_chart(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, xlabel: str,
               ylabel: str) -> str:
    """One line per named series of (x, y)."""
    fig, ax = _figure(6.4, 3.6)
    for name, (x, y) in series.items():
        ax.plot(list(x), list(y), marker="o", markersize=3, label=str(name)[:40])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if series:
        ax.legend(fontsize=7)
    return _uri(fig)
