"""The ball figures when the sets are too large for exact passes: a real row's k-NN radius is searched
only where some ball test needs it, and shares of the real set are estimated from seeded samples.

A real radius ``r_i`` enters a figure only through tests "is q inside B(x_i, r_i)" for the q whose
candidates include row i (the synthetic items, the sampled held-out rows). The self-join probes a
row's own IVF list first, so the (k+1)-th distance inside that list bounds ``r_i`` from above
(:meth:`~clawloop_synth._cells.Cells.own_list_kth`, one product per list); a pair further apart than
the bound is outside whatever the radius, and a row with no such pair needs no search. On an index
whose lists are tight around their points this leaves a small share of the rows to search, instead
of a self-join of all of them.

Above :data:`SAMPLE` rows, three figures of the real set are estimated instead of computed over all of
it, each from its own uniform seeded sample of :data:`SAMPLE` rows, with the error stated in
``estimate``: the median radius (for novelty's share beyond it), the sparse cut (the
``sparse_quantile`` of the kept radii; by the DKW inequality its rank lies within ``quantile_band`` of
the target with 95% confidence) and the held-out share inside a sparse ball (binomial standard error
``holdout_share_se``). At or below it every row is used and nothing is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

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

if TYPE_CHECKING:
    from clawloop_synth.index import VectorIndex

__all__ = ["SAMPLE", "BallFigures", "ball_figures", "radii"]

SAMPLE = 20_000  # rows per estimated share of the real set (a share's standard error <= 0.0036)


@dataclass
class BallFigures:
    in_real: np.ndarray  # per synthetic item: real balls holding it (among its candidates)
    covered: np.ndarray  # per real item: its ball holds some synthetic item
    in_synth: np.ndarray  # per real item: held by some synthetic ball
    nearest: np.ndarray  # per synthetic item: its nearest real row
    novelty_d2: np.ndarray
    s_gap: np.ndarray  # per synthetic item: inside a sparse real ball
    h_gap: np.ndarray  # per (sampled) held-out row: inside a sparse real ball
    real_r2: np.ndarray  # squared radii of the rows the median radius is read from
    cut: float  # squared sparse cut (NaN without a holdout)
    n_sparse: int
    searched: int  # real rows whose radius was searched
    estimate: dict[str, Any] | None  # the sample sizes and error bounds when shares were sampled


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


def radii(index: VectorIndex, k: int, search_k: int, keep: np.ndarray | None = None,
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


def _sample(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= SAMPLE else np.sort(rng.choice(rows, size=SAMPLE, replace=False))


def _rows_of_pairs(ids: np.ndarray, d2: np.ndarray, bound2: np.ndarray, band: float,
                   ok: np.ndarray | None = None) -> np.ndarray:
    """The candidate rows of pairs that may lie inside the row's ball (distance within its bound)."""
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    maybe = valid & (d2 <= bound2[safe] + band)
    if ok is not None:
        maybe &= ok[safe]
    return np.unique(safe[maybe])


def ball_figures(real_index: VectorIndex, synth_index: VectorIndex, held: np.ndarray, k: int, wide: int,
                 sparse_quantile: float, rng: np.random.Generator) -> BallFigures:
    """Every ball figure from the synthetic items' ``wide`` real candidates (one search), the synthetic
    radii (a self-join of the smaller set) and the real radii the tests need (see the module)."""
    rx, sx = real_index.vectors, synth_index.vectors
    n_hold = int(held.sum())
    kept = ~held
    rr_k = 2 * (k + 1) + 4  # more neighbours than k + 1, so that held-out rows can be skipped
    synth_r2 = radii(synth_index, k, k + 3)
    ids, d2 = refined_neighbours(real_index, sx, min(wide, len(rx)))
    band = error_band(sx, rx)
    if real_index.exact:
        bound_all = bound_kept = np.full(len(rx), np.inf)
    else:
        cells = real_index.cells()
        bound_all = cells.own_list_kth(k)
        bound_kept = cells.own_list_kth(k, kept) if n_hold else bound_all

    sampled = _sample(np.arange(len(rx)), rng)
    held_rows = _sample(np.flatnonzero(held), rng)
    hh = own_neighbours(real_index, held_rows, wide) if n_hold else None
    real_r2 = np.full(len(rx), np.nan)
    kept_r2 = np.full(len(rx), np.nan)
    searched = np.zeros(len(rx), dtype=bool)

    def search(rows: np.ndarray) -> None:
        rows = rows[~searched[rows]]
        if not len(rows):
            return
        table = own_neighbours(real_index, rows, rr_k)
        real_r2[rows] = radii(real_index, k, rr_k, rows=rows, table=table)
        if n_hold:
            mine = kept[rows]
            kept_r2[rows[mine]] = radii(real_index, k, rr_k, keep=kept, rows=rows[mine],
                                        table=(table[0][mine], table[1][mine]))
        searched[rows] = True

    search(np.arange(len(rx)) if real_index.exact else sampled)  # an exact index's figures need every radius
    cut, n_sparse, sparse = np.nan, 0, np.zeros(len(rx), dtype=bool)
    if n_hold:
        basis = sampled[kept[sampled]]
        cut = float(np.quantile(kept_r2[basis], sparse_quantile))
        # A ball can be sparse (and so need its radius) only when its bound is above the cut.
        may_be_sparse = kept & (bound_kept + band > cut)
        search(np.union1d(_rows_of_pairs(ids, d2, bound_kept, band, may_be_sparse),
                          _rows_of_pairs(hh[0], hh[1], bound_kept, band, may_be_sparse)))
        sparse = kept & (np.nan_to_num(kept_r2, nan=-1.0) > cut)
        n_sparse = int(sparse.sum()) if len(basis) == int(kept.sum()) else \
            int(round(float(np.mean(kept_r2[basis] > cut)) * int(kept.sum())))
    search(_rows_of_pairs(ids, d2, bound_all, band))

    in_real_pair, covered, in_synth = _cross(real_index, sx, ids, d2, real_r2, synth_r2, band)
    nearest = ids[:, 0]
    novelty_d2 = pair_sq_dists(sx, rx, np.arange(len(sx)), nearest)
    rows = np.flatnonzero(sparse)
    if real_index.exact:
        in_real = ball_counts_exact(rx, real_r2, sx)
        s_gap = ball_counts_exact(rx[rows], kept_r2[rows], sx) > 0
        h_gap = ball_counts_exact(rx[rows], kept_r2[rows], rx[held_rows]) > 0
    else:
        in_real = in_real_pair.sum(axis=1)
        s_gap = ball_counts_from_candidates(sx, rx, ids, d2, kept_r2, sparse) > 0
        h_gap = (ball_counts_from_candidates(rx[held_rows], rx, hh[0], hh[1], kept_r2, sparse) > 0) if n_hold \
            else np.zeros(0, dtype=bool)
    estimate = None
    if len(sampled) < len(rx) or len(held_rows) < n_hold:
        share = float(h_gap.mean()) if len(h_gap) else 0.0
        n_basis = int(kept[sampled].sum())
        estimate = {"radius_rows": len(sampled), "holdout_rows": len(held_rows), "radii_searched": int(searched.sum()),
                    "holdout_share_se": float(np.sqrt(share * (1 - share) / max(1, len(held_rows)))),
                    "quantile_band": float(np.sqrt(np.log(2 / 0.05) / (2 * max(1, n_basis))))}
    return BallFigures(in_real, covered, in_synth, nearest, novelty_d2, s_gap, h_gap, real_r2[sampled], cut,
                       n_sparse, int(searched.sum()), estimate)


def _cross(real_index: VectorIndex, sx: np.ndarray, ids: np.ndarray, d2: np.ndarray, real_r2: np.ndarray,
           synth_r2: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cross pairs of the synthetic items' real candidates.

    A pair (synthetic j, real i) inside real ball i serves precision, density and coverage; inside
    synthetic ball j it serves recall. Both are read off the real candidates of j, so no search of
    the (larger) real set among the synthetic one is needed. A synthetic ball that holds all of its
    candidates may hold more real items: those balls get a range search of their own. Real rows
    without a searched radius are outside every candidate pair (``real_r2`` NaN).
    """
    rx = real_index.vectors
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
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
    return in_real_pair, covered, in_synth
