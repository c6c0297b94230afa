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
neighbours per point; ``exact`` in the result says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clawloop_synth.coverage.blocked import cross_pass, self_radii
from clawloop_synth.coverage.diversity import vendi
from clawloop_synth.coverage.geometry import (
    ball_counts_exact,
    ball_counts_from_candidates,
    error_band,
    own_neighbours,
    pair_sq_dists,
    pairs_within,
    refined_neighbours,
    within,
)
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
                "share_beyond_real_radius": float(
                    np.mean(nov > _distance(np.median(self.real_radii) ** 2, self.metric))) if len(nov) else None,
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
            },
            "indexes": self.indexes,
        }


def _distance(d2: np.ndarray | float, metric: Metric) -> Any:
    """Reported distance: cosine distance (1 - cos) for unit vectors, Euclidean otherwise."""
    return np.asarray(d2) / 2.0 if metric == "cosine" else np.sqrt(d2)


def _kth_from_sorted(d2: np.ndarray, ids: np.ndarray, keep: np.ndarray | None,
                     k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the id at the (k+1)-th smallest distance among kept ids (self included), its squared
    distance, and whether there were enough; NaN / -1 where not."""
    valid = ids >= 0
    if keep is not None:
        valid &= keep[np.where(ids >= 0, ids, 0)]
    rank = np.cumsum(valid, axis=1)
    hit = valid & (rank == k + 1)
    enough = hit.any(axis=1)
    col = hit.argmax(axis=1)
    rows = np.arange(len(d2))
    return (np.where(enough, d2[rows, col], np.nan), np.where(enough, ids[rows, col], -1), enough)


def _radii(index: VectorIndex, k: int, search_k: int, keep: np.ndarray | None = None,
           rows: np.ndarray | None = None, table: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Squared k-NN radius of each indexed row (or ``rows``) among rows where ``keep`` holds."""
    rows = np.arange(len(index)) if rows is None else rows
    ids, d2 = table if table is not None else own_neighbours(index, rows, search_k)
    _, kth, enough = _kth_from_sorted(d2, ids, keep, k)
    wider = search_k
    while not enough.all() and wider < len(index):
        # Too many held-out rows among the neighbours: search those rows again, wider.
        wider = min(len(index), wider * 2)
        missing = np.flatnonzero(~enough)
        ids2, d22 = own_neighbours(index, rows[missing], wider)
        _, kth[missing], enough[missing] = _kth_from_sorted(d22, ids2, keep, k)
    # The radius itself in float64 (exactly 0 for a repeated vector), whatever the index computed.
    radii2 = np.full(len(rows), np.nan)
    radii2[enough] = pair_sq_dists(index.vectors, index.vectors, rows[enough], kth[enough])
    return radii2


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
    wide = config.candidates

    # Holdout for gap-filling: drawn once, used only by the gap-filling figures.
    rng = np.random.default_rng(config.seed)
    n_hold = int(round(config.holdout * len(rx)))
    if len(rx) - n_hold < k + 1:
        n_hold = 0
    held = np.zeros(len(rx), dtype=bool)
    held[rng.choice(len(rx), size=n_hold, replace=False)] = True

    exact = real_index.exact and synth_index.exact
    kept_r2 = np.full(len(rx), np.nan)
    kept = ~held
    kept_rows = np.flatnonzero(kept)
    if exact:
        # Both sets small: the radii from one pass over each set's upper triangle (no faiss search).
        real_r2, kept_all = self_radii(rx, k, kept if n_hold else None)
        synth_r2, _ = self_radii(sx, k)
        if kept_all is not None:
            kept_r2 = kept_all
    else:
        # Real-real neighbours serve the radii and the held-out radii: a self-join at the index's
        # own (small) probe count, with more neighbours than k + 1 so that held-out rows can be skipped.
        rr_k = 2 * (k + 1) + 4
        rr = own_neighbours(real_index, np.arange(len(rx)), rr_k)
        real_r2 = _radii(real_index, k, rr_k, table=rr)
        synth_r2 = _radii(synth_index, k, k + 3)
        if n_hold:
            kept_r2[kept_rows] = _radii(real_index, k, rr_k, keep=kept, rows=kept_rows,
                                        table=(rr[0][kept_rows], rr[1][kept_rows]))

    sparse = np.zeros(len(rx), dtype=bool)
    cut = np.nan
    if n_hold:
        cut = float(np.quantile(kept_r2[kept_rows], config.sparse_quantile))
        sparse = kept & (np.nan_to_num(kept_r2, nan=-1.0) > cut)
    gap_r2 = np.where(sparse, kept_r2, np.nan)

    if exact:
        # Both sets small: one exact blocked pass over the pairs gives every ball figure.
        cross = cross_pass(sx, rx, real_r2, synth_r2, gap_r2)
        in_real, covered, in_synth = cross.in_real, cross.covered, cross.in_synth
        novelty_d2, nearest, s_gap = cross.nearest_d2, cross.nearest, cross.in_gap
        rows = np.flatnonzero(sparse)
        h_gap = ball_counts_exact(rx[rows], kept_r2[rows], rx[held]) > 0
    else:
        cand = _cross_candidates(real_index, sx, real_r2, synth_r2, wide)
        nearest, covered, in_synth = cand.nearest, cand.covered, cand.in_synth
        novelty_d2 = pair_sq_dists(sx, rx, np.arange(len(sx)), nearest)
        rows = np.flatnonzero(sparse)
        if real_index.exact:
            in_real = ball_counts_exact(rx, real_r2, sx)
            s_gap = ball_counts_exact(rx[rows], kept_r2[rows], sx) > 0
            h_gap = ball_counts_exact(rx[rows], kept_r2[rows], rx[held]) > 0
        else:
            in_real = cand.in_real
            s_gap = ball_counts_from_candidates(sx, rx, cand.ids, cand.d2, kept_r2, sparse) > 0
            # Held-out rows are real points: the self-join probe count serves them.
            hh = own_neighbours(real_index, np.flatnonzero(held), wide)
            h_gap = ball_counts_from_candidates(rx[held], rx, hh[0], hh[1], kept_r2, sparse) > 0

    gap = None
    if n_hold:
        gap = GapFill(float(s_gap.mean()), float(h_gap.mean()), n_hold, int(sparse.sum()),
                      float(_distance(cut, config.metric)))

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


@dataclass
class _Candidates:
    ids: np.ndarray  # per synthetic item: candidate real rows, nearest first (-1 when missing)
    d2: np.ndarray
    nearest: np.ndarray
    in_real: np.ndarray  # per synthetic item: candidate real balls holding it
    covered: np.ndarray  # per real item: its ball holds some synthetic item (among candidates)
    in_synth: np.ndarray  # per real item: held by some synthetic ball


def _cross_candidates(real_index: VectorIndex, sx: np.ndarray, real_r2: np.ndarray, synth_r2: np.ndarray,
                      wide: int) -> _Candidates:
    """Every cross figure from one search of the synthetic items among the real ones.

    A pair (synthetic j, real i) inside real ball i serves precision, density and coverage; inside
    synthetic ball j it serves recall. Both are read off the ``wide`` real candidates of j, so no
    search of the (larger) real set among the synthetic one is needed. A synthetic ball that holds
    all of its candidates may hold more real items: those balls get a range search of their own.
    """
    rx = real_index.vectors
    ids, d2 = refined_neighbours(real_index, sx, min(wide, len(rx)))
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    band = error_band(sx, rx)
    real_limit = np.where(valid, np.nan_to_num(real_r2[safe], nan=-np.inf), -np.inf)
    in_real_pair = valid & within(sx, rx, safe, d2, real_limit, band)
    covered = np.zeros(len(rx), dtype=bool)
    covered[safe[in_real_pair]] = True
    synth_lim = np.nan_to_num(synth_r2, nan=-np.inf)
    in_synth_pair = valid & within(sx, rx, safe, d2, np.broadcast_to(synth_lim[:, None], ids.shape), band)
    in_synth = np.zeros(len(rx), dtype=bool)
    in_synth[safe[in_synth_pair]] = True
    full = np.flatnonzero(in_synth_pair[:, -1]) if ids.shape[1] < len(rx) else np.zeros(0, np.int64)
    if len(full):
        radii2 = np.full(len(sx), np.nan)
        radii2[full] = synth_r2[full]
        _, held = pairs_within(real_index, sx, radii2)
        in_synth[held] = True
    return _Candidates(ids, d2, ids[:, 0], in_real_pair.sum(axis=1), covered, in_synth)


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
