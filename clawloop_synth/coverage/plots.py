"""The two coverage plots (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from clawloop_synth.coverage.spectrum import top_singular

__all__ = ["plot_clusters", "plot_projection", "project_2d"]


PCA_SAMPLE = 4096  # real rows the plot's axes are fitted on: two directions of a 2-D picture need no more


def project_2d(real: np.ndarray, synthetic: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the real set (its top two directions), applied to both sets.

    The directions come from a randomized SVD of (a seeded sample of at most ``PCA_SAMPLE`` rows of) the
    centred real set: O(n d) work, where the eigendecomposition of the d x d covariance took O(d^3)
    (19-37 s at d = 2,048 on this machine, for a picture)."""
    mean = real.mean(axis=0)
    if len(real) < 2:
        axes = np.eye(real.shape[1])[:, :2]
    else:
        rows = np.arange(len(real))
        if len(real) > PCA_SAMPLE:
            rows = np.sort(np.random.default_rng(seed).choice(len(real), PCA_SAMPLE, replace=False))
        _, vt = top_singular(real[rows] - mean, 2, seed=seed)
        axes = vt.T
    return (real - mean) @ axes, (synthetic - mean) @ axes


def plot_projection(real: np.ndarray, synthetic: np.ndarray, path: Path) -> str:
    """R as a 2-D density (hexbin), S as points on top; returns the file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pr, ps = project_2d(real.astype(np.float64), synthetic.astype(np.float64))
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    hb = ax.hexbin(pr[:, 0], pr[:, 1], gridsize=30, cmap="Blues", mincnt=1, bins="log")
    fig.colorbar(hb, ax=ax, label="real traces (log count)")
    ax.scatter(ps[:, 0], ps[:, 1], s=8, c="tab:orange", alpha=0.7, linewidths=0, label="synthetic tasks")
    ax.set_title(f"{len(real)} real traces vs {len(synthetic)} tasks (PCA of the real set)")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path.name


def plot_clusters(per_cluster: dict[str, Any], path: Path) -> str:
    """Accepted tasks per failure cluster (uncovered clusters in red); returns the file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = per_cluster["clusters"]
    height = max(2.5, 0.3 * len(rows) + 1.2)
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=110)
    labels = [f"{row['id']} {row['label'][:40]} (n={row['size']})" for row in rows]
    tasks = [row["tasks"] for row in rows]
    colors = ["tab:red" if n == 0 else "tab:blue" for n in tasks]
    ax.barh(range(len(rows)), tasks, color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("accepted tasks")
    ax.set_title(f"tasks per failure cluster ({len(per_cluster['uncovered'])} without any, red)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path.name
