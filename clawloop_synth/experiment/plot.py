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
    if result.get("question") == "fidelity":
        _fidelity(ax, result)
    elif result.get("question") == "rounds":
        _rounds(ax, result)
    for arm in (seeds[0]["arms"] if seeds and result.get("question") != "fidelity" and "arms" in seeds[0] else {}):
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
    if result.get("question") not in ("fidelity", "rounds"):
        ax.set_xlabel("training tasks seen")
    ax.set_ylabel("held-out success" + (" in the true pack" if result.get("question") == "fidelity" else ""))
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"experiment {result.get('question')}: {len(seeds)} seeds, 95% bootstrap CI", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path.name


def _fidelity(ax: Any, result: dict[str, Any]) -> None:
    """Transfer (held-out success in the true pack) against the training simulator's measured fidelity."""
    levels = result.get("levels") or {}
    for kind, marker in (("induced", "o"), ("noise", "s"), ("true", "*")):
        arms = sorted((v["fidelity"]["mean"], a) for a, v in levels.items()
                      if a.split("_")[0] == kind and a != "true_aa" and v["fidelity"]["mean"] is not None)
        if not arms:
            continue
        xs = [f for f, _ in arms]
        ys = [levels[a]["final_success"]["mean"] for _, a in arms]
        lo = [y - levels[a]["final_success"]["ci95"][0] for y, (_, a) in zip(ys, arms, strict=True)]
        hi = [levels[a]["final_success"]["ci95"][1] - y for y, (_, a) in zip(ys, arms, strict=True)]
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt=marker + "-", capsize=3, label=kind)
    base = (result.get("untrained") or {}).get("mean")
    if base is not None:
        ax.axhline(base, color="grey", linestyle=":", label="untrained")
    floor = result.get("floor") or {}
    if floor.get("found"):
        ax.axvline(floor["fidelity"], color="red", linestyle="--", label="floor")
    ax.set_xlabel("measured fidelity of the training simulator (share of reference calls answered exactly)")


def _rounds(ax: Any, result: dict[str, Any]) -> None:
    """Held-out success after each round, with the number of modes closed and opened."""
    rows = result.get("per_round") or []
    xs = [r["round"] for r in rows]
    ys = [r["success"]["mean"] for r in rows]
    lo = [y - r["success"]["ci95"][0] for y, r in zip(ys, rows, strict=True)]
    hi = [r["success"]["ci95"][1] - y for y, r in zip(ys, rows, strict=True)]
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", capsize=3, label="held-out success")
    for r, y in zip(rows, ys, strict=True):
        ax.annotate(f"-{sum(r['closed'].values())}/+{sum(r['opened'].values())}", (r["round"], y),
                    textcoords="offset points", xytext=(4, 6), fontsize=7)
    ax.set_xlabel("round (labels: modes closed / opened, summed over seeds)")
