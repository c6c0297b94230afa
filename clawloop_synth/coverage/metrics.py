"""Novelty, precision/recall/density/coverage, Vendi score and gap-filling of a synthetic set S
against a real set R.

Definitions (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models"),
with ``r_i`` the distance from real point i to its k-th nearest other real point and ``s_j`` the
same inside S:

* precision = share of S inside some real ball ``B(x_i, r_i)``;
* recall    = share of R inside some synthetic ball ``B(y_j, s_j)``;
* density   = (1 / k m) * number of (synthetic, real ball) pairs with the point inside the ball;
* coverage  = share of R whose nearest synthetic point is inside its ball.

"Inside" is ``<=`` (the reference ``prdc`` package uses ``<``): a text repeated k+1 times has
radius 0, and its synthetic copies must still count as on the support.

Gap-filling: R is split into an indexed part and a held-out sample; the balls of the indexed part
whose radius is above the ``sparse_quantile`` of its radii mark sparse regions of the support. The
share of S inside one of them is reported beside the share of the held-out real points (the rate
that resampling real data would give).

Every k-NN goes through :class:`~clawloop_synth.index.VectorIndex`: exact below its size threshold
(and then the metrics are exact), IVF above it (then ball membership looks at ``candidates``
neighbours per point, and a real radius is searched only where a ball test needs it: see
``approximate.py``; ``exact`` in the result says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clawloop_synth.coverage.approximate import ball_figures
from clawloop_synth.coverage.blocked import cross_pass, self_radii
from clawloop_synth.coverage.diversity import vendi
from clawloop_synth.coverage.geometry import ball_counts_exact, pair_sq_dists, refined_neighbours
from clawloop_synth.index import IndexConfig, Metric, VectorIndex

__all__ = [
    "CoverageConfig",
    "CoverageResult",
    "GapFill",
    "evaluate",
    "novelty",
    "prdc_metrics",
    "real_index_for",
]


@dataclass(frozen=True)
class CoverageConfig:
    k: int = 5
    metric: Metric = "cosine"
    candidates: int = 64  # neighbours examined per point when an index is approximate
    holdout: float = 0.2  # share of R held out for the gap-filling baseline
    sparse_quantile: float = 0.75
    seed: int = 0
    index: IndexConfig = field(default_factory=IndexConfig)


@dataclass
class GapFill:
    synthetic_share: float
    holdout_share: float
    n_holdout: int
    n_sparse_balls: int
    sparse_radius: float
    estimate: dict[str, Any] | None = None  # sample sizes and error bounds when shares were sampled

    @property
    def lift(self) -> float | None:
        return self.synthetic_share / self.holdout_share if self.holdout_share > 0 else None


@dataclass
class CoverageResult:
    n_real: int
    n_synthetic: int
    k: int
    metric: Metric
    exact: bool
    precision: float
    recall: float
    density: float
    coverage: float
    novelty: np.ndarray  # per synthetic item: distance to its nearest real item
    nearest_real: np.ndarray  # row of that real item
    vendi_synthetic: float
    vendi_real: float
    gap_fill: GapFill | None
    real_radii: np.ndarray
    indexes: dict[str, Any] = field(default_factory=dict)
    vendi_bounds: dict[str, list[float]] = field(default_factory=dict)  # [low, high] of a low-rank estimate

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (no per-item arrays)."""
        nov = self.novelty
        gap = self.gap_fill
        return {
            "n_real": self.n_real,
            "n_synthetic": self.n_synthetic,
            "k": self.k,
            "metric": self.metric,
            "exact": self.exact,
            "precision": self.precision,
            "recall": self.recall,
            "density": self.density,
            "coverage": self.coverage,
            "novelty": {
                "mean": float(nov.mean()) if len(nov) else None,
                "median": float(np.median(nov)) if len(nov) else None,
                "p90": float(np.quantile(nov, 0.9)) if len(nov) else None,
                "share_beyond_real_radius": float(np.mean(nov > np.median(self.real_radii))) if len(nov) else None,
            },
            "vendi": {"synthetic": self.vendi_synthetic, "real": self.vendi_real,
                      **({"bounds": self.vendi_bounds} if self.vendi_bounds else {})},
            "gap_fill": None if gap is None else {
                "synthetic_share": gap.synthetic_share,
                "holdout_share": gap.holdout_share,
                "lift": gap.lift,
                "n_holdout": gap.n_holdout,
                "n_sparse_balls": gap.n_sparse_balls,
                "sparse_radius": gap.sparse_radius,
                **({"estimate": gap.estimate} if gap.estimate else {}),
            },
            "indexes": self.indexes,
        }


def _distance(d2: np.ndarray | float, metric: Metric) -> Any:
    """Reported distance: cosine distance (1 - cos) for unit vectors, Euclidean otherwise."""
    return np.asarray(d2) / 2.0 if metric == "cosine" else np.sqrt(d2)


def real_index_for(real: np.ndarray, synthetic: np.ndarray, config: CoverageConfig | None = None) -> VectorIndex:
    """The index of ``real`` that :func:`evaluate` builds (its outside-query probes calibrated on
    ``synthetic``), for a caller that wants to keep it (to measure its recall, say)."""
    config = config or CoverageConfig()
    return VectorIndex.build(real, metric=config.metric, config=config.index, queries=synthetic)


def evaluate(real: np.ndarray, synthetic: np.ndarray, config: CoverageConfig | None = None,
             real_index: VectorIndex | None = None) -> CoverageResult:
    """Every coverage figure of ``synthetic`` against ``real`` in one pass over shared searches;
    ``real_index``: the index of ``real`` from :func:`real_index_for`, when the caller built it."""
    config = config or CoverageConfig()
    k = config.k
    if len(real) < k + 1 or len(synthetic) < k + 1:
        raise ValueError(f"need more than k={k} real and synthetic items, got {len(real)} and {len(synthetic)}")
    # The real index answers the synthetic items (outside queries, calibrated on them); the synthetic
    # index only serves the synthetic radii, a self-join.
    if real_index is None:
        real_index = real_index_for(real, synthetic, config)
    elif len(real_index) != len(real) or real_index.metric != config.metric:
        raise ValueError(f"real_index holds {len(real_index)} {real_index.metric} vectors, not the {len(real)} "
                         f"{config.metric} real items")
    synth_index = VectorIndex.build(synthetic, metric=config.metric, config=config.index)
    rx, sx = real_index.vectors, synth_index.vectors

    # Holdout for gap-filling: drawn once, used only by the gap-filling figures.
    rng = np.random.default_rng(config.seed)
    n_hold = int(round(config.holdout * len(rx)))
    if len(rx) - n_hold < k + 1:
        n_hold = 0
    held = np.zeros(len(rx), dtype=bool)
    held[rng.choice(len(rx), size=n_hold, replace=False)] = True

    exact = real_index.exact and synth_index.exact
    estimate = None
    if exact:
        # Both sets small: the radii from one pass over each set's upper triangle (no faiss search),
        # then one exact blocked pass over the pairs gives every ball figure.
        kept = ~held
        real_r2, kept_all = self_radii(rx, k, kept if n_hold else None)
        synth_r2, _ = self_radii(sx, k)
        kept_r2 = kept_all if kept_all is not None else np.full(len(rx), np.nan)
        cut, sparse = np.nan, np.zeros(len(rx), dtype=bool)
        if n_hold:
            cut = float(np.quantile(kept_r2[kept], config.sparse_quantile))
            sparse = kept & (np.nan_to_num(kept_r2, nan=-1.0) > cut)
        cross = cross_pass(sx, rx, real_r2, synth_r2, np.where(sparse, kept_r2, np.nan))
        in_real, covered, in_synth = cross.in_real, cross.covered, cross.in_synth
        novelty_d2, nearest, s_gap = cross.nearest_d2, cross.nearest, cross.in_gap
        rows = np.flatnonzero(sparse)
        h_gap = ball_counts_exact(rx[rows], kept_r2[rows], rx[held]) > 0
        n_sparse = int(sparse.sum())
    else:
        balls = ball_figures(real_index, synth_index, held, k, config.candidates, config.sparse_quantile, rng)
        in_real, covered, in_synth = balls.in_real, balls.covered, balls.in_synth
        novelty_d2, nearest, s_gap, h_gap = balls.novelty_d2, balls.nearest, balls.s_gap, balls.h_gap
        real_r2, cut, n_sparse, estimate = balls.real_r2, balls.cut, balls.n_sparse, balls.estimate

    gap = None
    if n_hold:
        gap = GapFill(float(s_gap.mean()), float(h_gap.mean()), n_hold, n_sparse,
                      float(_distance(cut, config.metric)), estimate)

    vendis = {"synthetic": vendi(sx), "real": vendi(rx)}
    return CoverageResult(
        n_real=len(rx), n_synthetic=len(sx), k=k, metric=config.metric,
        exact=exact,
        precision=float(np.mean(in_real > 0)),
        recall=float(np.mean(in_synth)),
        density=float(in_real.sum() / (k * len(sx))),
        coverage=float(np.mean(covered)),
        novelty=_distance(novelty_d2, config.metric),
        nearest_real=nearest,
        vendi_synthetic=vendis["synthetic"].score,
        vendi_real=vendis["real"].score,
        gap_fill=gap,
        real_radii=_distance(real_r2, config.metric),
        indexes={"real": real_index.describe(), "synthetic": synth_index.describe()},
        vendi_bounds={name: [v.low, v.high] for name, v in vendis.items() if not v.exact},
    )


def prdc_metrics(real: np.ndarray, synthetic: np.ndarray, k: int = 5, *, metric: Metric = "l2",
                 index: IndexConfig | None = None) -> dict[str, float]:
    """precision, recall, density and coverage (Naeem et al.) with ``<=`` ball membership."""
    result = evaluate(real, synthetic, CoverageConfig(k=k, metric=metric, holdout=0.0,
                                                      index=index or IndexConfig()))
    return {"precision": result.precision, "recall": result.recall, "density": result.density,
            "coverage": result.coverage}


def novelty(real: np.ndarray, synthetic: np.ndarray, *, metric: Metric = "cosine",
            index: IndexConfig | None = None) -> np.ndarray:
    """Each synthetic item's distance to its nearest real item (1 - cos for ``cosine``)."""
    real_index = VectorIndex.build(real, metric=metric, config=index)
    queries = real_index.prepare(synthetic)
    ids, _ = refined_neighbours(real_index, queries, 3 if real_index.exact else 64)
    return np.asarray(_distance(pair_sq_dists(queries, real_index.vectors, np.arange(len(ids)), ids[:, 0]), metric))
