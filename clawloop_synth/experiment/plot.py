"""One PNG per question: mean success against training tasks seen, one line per arm, with the seeds' 95% CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from clawloop_synth.experiment.stats import boot_ci

__all__ = ["mean_curves", "plot_question"]


def mean_curves(result: dict[str, Any]) -> dict[str, list[list[float]]]:
    """Arm -> [[tasks, mean success over seeds], ...] (the points every seed measured)."""
    seeds = result.get("seeds") or []
    out: dict[str, list[list[float]]] = {}
    if not seeds:
        return out
    for arm in seeds[0]["arms"]:
        curves = [s["arms"][arm] for s in seeds if arm in s["arms"]]
        n = min(len(c) for c in curves)
        pts = []
        for i in range(n):
            ys = [c[i]["success"] for c in curves if c[i]["success"] is not None]
            if ys:
                pts.append([float(np.mean([c[i]["tasks"] for c in curves])), round(float(np.mean(ys)), 4)])
        out[arm] = pts
    return out


def plot_question(result: dict[str, Any], path: Path) -> str:
    """Draw ``result``'s learning curves to ``path``; returns the file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=100)
    seeds = result.get("seeds") or []
    for arm in (seeds[0]["arms"] if seeds else {}):
        curves = [s["arms"][arm] for s in seeds if arm in s["arms"]]
        n = min(len(c) for c in curves)
        xs, ys, lo, hi = [], [], [], []
        for i in range(n):
            vals = [float(c[i]["success"]) for c in curves if c[i]["success"] is not None]
            if not vals:
                continue
            ci = boot_ci(vals) or (float("nan"), float("nan"))
            xs.append(float(np.mean([c[i]["tasks"] for c in curves])))
            ys.append(float(np.mean(vals)))
            lo.append(ci[0])
            hi.append(ci[1])
        style = "--" if arm.endswith("_aa") else "-"
        line = ax.plot(xs, ys, style, marker="o", label=arm)[0]
        ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.12)
    ax.set_xlabel("training tasks seen")
    ax.set_ylabel("held-out success")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"experiment {result.get('question')}: {len(seeds)} seeds, 95% bootstrap CI", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path.name
