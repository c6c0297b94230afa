"""The experiments' statistics: bootstrap CIs of means and of paired differences, curve summaries.

Every comparison is paired by seed: seed s of arm A and seed s of arm B share the fold split, the evaluation
set and the learner's seed, so their difference removes what the split alone explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["auc", "boot_ci", "paired", "summary", "tasks_to_threshold"]


def boot_ci(values: Sequence[float], seed: int = 0, n: int = 2000) -> tuple[float, float] | None:
    """The 95% percentile-bootstrap CI of the mean of ``values`` (None for no values)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if len(arr) == 0:
        return None
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(n, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summary(values: Sequence[float | None], seed: int = 0) -> dict[str, Any]:
    """Mean, per-seed values and 95% CI of one figure over seeds."""
    kept = [float(v) for v in values if v is not None]
    ci = boot_ci(kept, seed)
    return {"mean": round(float(np.mean(kept)), 4) if kept else None,
            "ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None,
            "per_seed": [None if v is None else round(float(v), 4) for v in values]}


def paired(a: Sequence[float | None], b: Sequence[float | None], seed: int = 0) -> dict[str, Any]:
    """``a - b`` paired by seed (seeds where either is missing are dropped): mean, CI, and whether it excludes 0."""
    diffs = [float(x) - float(y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    out = summary(diffs, seed)
    ci = out["ci95"]
    out["excludes_zero"] = bool(ci and (ci[0] > 0 or ci[1] < 0))
    return out


def auc(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Area under a learning curve by the trapezoid rule, normalised by the x range (a mean success);
    None when the curve spans no training (no x range)."""
    if len(xs) < 2 or xs[-1] == xs[0]:
        return None
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2) / (x[-1] - x[0]))


def tasks_to_threshold(xs: Sequence[float], ys: Sequence[float], threshold: float) -> float | None:
    """The first number of training tasks at which the curve reaches ``threshold`` (None: never)."""
    for x, y in zip(xs, ys, strict=True):
        if y >= threshold:
            return float(x)
    return None
