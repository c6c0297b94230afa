"""Average ranks and the two rank correlations the curriculum and difficulty stages report.

Written here in numpy because ``scipy.stats`` took about 0.3 s to import on every ``run`` for three
functions; ``tests/test_ranks.py`` checks them against scipy's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["average_ranks", "kendall_tau", "spearman"]


def average_ranks(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their places (scipy's ``rankdata(method="average")``)."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(x)]
    shared = (starts + ends + 1) / 2.0  # mean of places start+1 .. end
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(shared, ends - starts)
    return ranks


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Spearman's rho: Pearson's correlation of the average ranks (NaN when either side is constant)."""
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    scale = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / scale) if scale > 0 else float("nan")


def kendall_tau(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, block: int = 2048) -> float:
    """Kendall's tau-b: (concordant - discordant) pairs over the geometric mean of the pairs untied on each
    side; all pairs compared in blocks of rows (NaN when either side is constant)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    score = untied_x = untied_y = 0.0
    for start in range(0, len(x), block):
        sx = np.sign(x[start:start + block, None] - x[None, :])
        sy = np.sign(y[start:start + block, None] - y[None, :])
        score += float((sx * sy).sum())
        untied_x += float(np.abs(sx).sum())
        untied_y += float(np.abs(sy).sum())
    scale = np.sqrt(untied_x * untied_y)
    return score / scale if scale > 0 else float("nan")
