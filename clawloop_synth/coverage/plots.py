"""The two coverage plots, written as SVG files (``clawloop_synth.svg``)."""

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
    """R as a 2-D density (cells shaded by log count), S as points on top, as SVG; returns the file name."""
    from clawloop_synth import svg

    pr, ps = project_2d(real.astype(np.float64), synthetic.astype(np.float64))
    path.write_text(svg.density(pr, ps, f"{len(real)} real traces vs {len(synthetic)} tasks (PCA of the real set)",
                                "PC 1", "PC 2", background_label="real traces (log count)",
                                points_label="synthetic tasks"))
    return path.name


def plot_clusters(per_cluster: dict[str, Any], path: Path) -> str:
    """Accepted tasks per failure cluster (uncovered clusters in red), as SVG; returns the file name."""
    from clawloop_synth import svg

    rows = per_cluster["clusters"]
    labels = [f"{row['id']} {row['label'][:40]} (n={row['size']})" for row in rows]
    tasks = [row["tasks"] for row in rows]
    path.write_text(svg.bars(labels, tasks, f"tasks per failure cluster ({len(per_cluster['uncovered'])} without "
                             "any, red)", "accepted tasks", [n == 0 for n in tasks]))
    return path.name
