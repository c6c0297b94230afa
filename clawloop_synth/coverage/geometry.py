"""Neighbour tables and k-NN-ball membership without n x m distance matrices.

Two ways to ask "which balls B(c_i, r_i) contain the query q":

* exact (small ball sets): a ball test is an inner product. With ``a_i = [2 c_i, r_i^2 - |c_i|^2, 1]``
  and ``b = [q, 1, -|q|^2]``, ``a_i . b = r_i^2 - |q - c_i|^2``, so the balls holding q are a faiss
  range search for inner products >= 0 over a flat index of the ``a_i``, run on query chunks;
* approximate (large ball sets): the balls among the query's ``candidates`` nearest centres found
  by the (IVF) index. A ball whose centre is further away than the candidates is missed.

When both sets are small (``evaluate``'s exact path) no faiss search is made: ``self_radii`` reads
the k-NN radii of a set off the upper triangle of one blocked float32 product, and ``cross_pass``
reads every ball figure of S against R off one product of S with R. Both multiply augmented rows,
``[-2 y, |y|^2, 1] . [x, 1, |x|^2] = |y - x|^2``, so the blocks hold squared distances with no
further pass, and run on two threads (BLAS held to one thread each) so that numpy's one-core
comparisons overlap with the products. At 10,000 x 10,000 x 384-d that is 2 products' worth of
float32 multiply-adds in all (the self-joins are half products, plus their diagonal blocks),
against 3 before.

faiss computes in float32; every decision near a boundary is redone in float64 from the vectors
(``|q - c|^2`` by differences, so identical vectors are at distance exactly 0 and ties with a
radius of 0 count as inside).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from clawloop_synth.index import VectorIndex

__all__ = [
    "CrossPass",
    "ball_counts_exact",
    "ball_counts_from_candidates",
    "cross_pass",
    "error_band",
    "pair_sq_dists",
    "pairs_within",
    "refined_neighbours",
    "self_radii",
    "within",
]

_ELEMENTS = 1 << 23  # float64 elements per temporary block (64 MiB)
_PAIRS = 1 << 24  # range-search results per query chunk, worst case
_BLOCK_BYTES = 1 << 23  # float32 distance block per thread in cross_pass (8 MiB, within L3 for two)
_SELF_BLOCK = 1024  # rows per block in self_radii; its diagonal block sets the row thresholds
_T = TypeVar("_T")


def pair_sq_dists(queries: np.ndarray, base: np.ndarray, qi: np.ndarray, bi: np.ndarray) -> np.ndarray:
    """float64 ``|queries[qi] - base[bi]|^2`` for index pairs, in blocks."""
    out = np.empty(len(qi), dtype=np.float64)
    step = max(1, _ELEMENTS // max(1, queries.shape[1]))
    for start in range(0, len(qi), step):
        sl = slice(start, start + step)
        diff = queries[qi[sl]].astype(np.float64) - base[bi[sl]]
        out[sl] = np.einsum("ij,ij->i", diff, diff)
    return out


def refined_neighbours(index: VectorIndex, queries: np.ndarray, k: int, *,
                       own: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """ids and squared distances of the ``k`` nearest, sorted ascending; -1 / inf if missing.

    For an exact index the order is made exact: faiss's float32 scores become squared distances
    (within ``error_band`` of the true ones), and only the entries within twice that band of a
    neighbouring entry of their row (whose order float32 cannot decide) are redone in float64; the
    others keep the float32 value, which no redone entry can cross. Callers that need a distance
    itself (a radius) recompute it with ``pair_sq_dists``. For an approximate index the float32
    distances are kept, and the callers redo only the decisions that fall within ``error_band`` of a
    boundary. ``queries`` must already be in the index's space (see ``VectorIndex.prepare``);
    ``own`` says they are the index's own points.
    """
    k = min(k, len(index))
    scores, ids = index.search_prepared(queries, k, own=own)
    if not index.exact:
        d2 = (2.0 - 2.0 * scores.astype(np.float64)) if index.metric == "cosine" else scores.astype(np.float64)
        return ids, np.where(ids >= 0, np.maximum(d2, 0.0), np.inf)
    valid = ids >= 0
    if index.metric == "cosine":
        x = index.vectors
        qn = np.einsum("ij,ij->i", queries, queries, dtype=np.float64)
        xn = np.einsum("ij,ij->i", x, x, dtype=np.float64)
        d2 = qn[:, None] + xn[np.where(valid, ids, 0)] - 2.0 * scores.astype(np.float64)
    else:
        d2 = scores.astype(np.float64)
    d2 = np.where(valid, np.maximum(d2, 0.0), np.inf)
    order = np.argsort(d2, axis=1, kind="stable")
    ids, d2 = np.take_along_axis(ids, order, axis=1), np.take_along_axis(d2, order, axis=1)
    close = np.diff(d2, axis=1) <= 2.0 * error_band(queries, index.vectors)
    unsure = np.zeros(d2.shape, dtype=bool)
    unsure[:, 1:] |= close
    unsure[:, :-1] |= close
    unsure &= ids >= 0
    if unsure.any():
        qi, col = np.nonzero(unsure)
        d2[qi, col] = pair_sq_dists(queries, index.vectors, qi, ids[qi, col])
        order = np.argsort(d2, axis=1, kind="stable")
        ids, d2 = np.take_along_axis(ids, order, axis=1), np.take_along_axis(d2, order, axis=1)
    return ids, d2


def error_band(queries: np.ndarray, base: np.ndarray) -> float:
    """A bound on the float32 error of a squared distance between rows of the two sets."""
    eps = float(np.finfo(np.float32).eps)
    qn = float(np.einsum("ij,ij->i", queries, queries).max()) if len(queries) else 0.0
    bn = float(np.einsum("ij,ij->i", base, base).max()) if len(base) else 0.0
    return 4.0 * (queries.shape[1] + 2) * eps * (qn + bn)


def within(queries: np.ndarray, base: np.ndarray, ids: np.ndarray, d2: np.ndarray, limit2: np.ndarray,
           band: float) -> np.ndarray:
    """``d2 <= limit2`` for each (query row, ``ids``) pair, redone in float64 inside the error band."""
    inside = d2 <= limit2 - band
    unsure = (ids >= 0) & ~inside & (d2 <= limit2 + band)
    if unsure.any():
        qi, col = np.nonzero(unsure)
        exact = pair_sq_dists(queries, base, qi, ids[qi, col])
        inside[qi, col] = exact <= limit2[qi, col]
    return inside


def ball_counts_from_candidates(queries: np.ndarray, base: np.ndarray, ids: np.ndarray, d2: np.ndarray,
                                radii2: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per query, how many candidate balls (``mask`` selects which balls count) hold it."""
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    limit = np.where(valid, np.nan_to_num(radii2[safe], nan=-np.inf), -np.inf)
    inside = valid & within(queries, base, safe, d2, limit, error_band(queries, base))
    if mask is not None:
        inside &= mask[safe]
    return inside.sum(axis=1)


def pairs_within(index: VectorIndex, centres: np.ndarray, radii2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centre row, indexed row) pairs with ``|x - centres[c]|^2 <= radii2[c]``: a range search.

    For ``cosine`` a ball is a cap ``x . c >= t`` with ``t = 1 - r^2 / 2``; dividing the query by
    ``t`` (less a margin) turns every cap into the same one, ``x . (c / t) >= 1``, so all centres go to faiss in one
    call (a positive scale does not change which IVF lists the query probes). Caps wider than a
    hemisphere, and the ``l2`` metric, are searched one centre at a time. Candidates come back with
    a margin and are decided in float64; ``centres`` must be in the index's space (outside queries).
    """
    x = index.vectors
    qi_parts: list[np.ndarray] = []
    id_parts: list[np.ndarray] = []
    keep = np.flatnonzero(np.isfinite(radii2))
    one_by_one = keep
    if index.metric == "cosine":
        margin = 1e-3  # inner-product units, far above float32 error for unit vectors
        t = 1.0 - radii2[keep] / 2.0
        scaled = t > 0.05
        rows = keep[scaled]
        if len(rows):
            # Candidates: x . c > t - margin, i.e. x . (c / (t - margin)) > 1.
            q = (centres[rows].astype(np.float64) / (t[scaled, None] - margin)).astype(np.float32)
            lims, _, ids = index.range_prepared(q, 1.0)
            counts: np.ndarray = np.diff(np.asarray(lims, dtype=np.int64))
            qi_parts.append(rows[np.repeat(np.arange(len(rows)), counts)])
            id_parts.append(ids.astype(np.int64))
        one_by_one = keep[~scaled]
    for row in one_by_one:
        if index.metric == "cosine":
            ids = np.arange(len(x))  # a cap this wide holds a large share of the index: scan it all
        else:
            band = error_band(centres[row:row + 1], x)
            _, _, found = index.range_prepared(centres[row:row + 1], float(radii2[row] + band))
            ids = found.astype(np.int64)
        qi_parts.append(np.full(len(ids), row))
        id_parts.append(ids)
    if not qi_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    qi, ids = np.concatenate(qi_parts), np.concatenate(id_parts)
    inside = pair_sq_dists(centres, x, qi, ids) <= radii2[qi]
    return qi[inside], ids[inside]


def ball_counts_exact(centres: np.ndarray, radii2: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Per query, the exact number of balls ``|q - centres[i]|^2 <= radii2[i]`` that hold it."""
    import faiss

    counts = np.zeros(len(queries), dtype=np.int64)
    if len(centres) == 0 or len(queries) == 0:
        return counts
    c64 = centres.astype(np.float64)
    cn2 = np.einsum("ij,ij->i", c64, c64)
    aug_c = np.hstack([2 * c64, (radii2 - cn2)[:, None], np.ones((len(c64), 1))]).astype(np.float32)
    flat = faiss.IndexFlatIP(aug_c.shape[1])
    flat.add(aug_c)
    q64 = queries.astype(np.float64)
    qn2 = np.einsum("ij,ij->i", q64, q64)
    aug_q = np.hstack([q64, np.ones((len(q64), 1)), -qn2[:, None]]).astype(np.float32)
    # Worst-case float32 dot-product error (n u |a||b|, doubled): pairs inside this band are redone.
    eps = float(np.finfo(np.float32).eps)
    tol = 2.0 * aug_c.shape[1] * eps * float(np.linalg.norm(aug_c, axis=1).max()) * float(
        np.linalg.norm(aug_q, axis=1).max())
    chunk = max(1, _PAIRS // len(centres))
    for start in range(0, len(queries), chunk):
        stop = min(start + chunk, len(queries))
        lims, scores, ids = flat.range_search(aug_q[start:stop], -tol)
        per_query: np.ndarray = np.diff(np.asarray(lims, dtype=np.int64))
        qi = np.repeat(np.arange(start, stop), per_query)
        inside = scores >= tol
        unsure = ~inside
        if unsure.any():
            d2 = pair_sq_dists(queries, centres, qi[unsure], ids[unsure])
            inside[unsure] = d2 <= radii2[ids[unsure]]
        counts[start:stop] = np.bincount(qi[inside] - start, minlength=stop - start)
    return counts


@dataclass
class CrossPass:
    """What one blocked pass over all (synthetic, real) pairs yields; see :func:`cross_pass`."""

    in_real: np.ndarray  # per synthetic item: number of real balls holding it
    in_gap: np.ndarray  # per synthetic item: held by some "gap" ball (gap_r2 radii)
    covered: np.ndarray  # per real item: its ball holds some synthetic item
    in_synth: np.ndarray  # per real item: held by some synthetic ball
    nearest: np.ndarray  # per synthetic item: row of the nearest real item
    nearest_d2: np.ndarray


def cross_pass(sx: np.ndarray, rx: np.ndarray, real_r2: np.ndarray, synth_r2: np.ndarray,
               gap_r2: np.ndarray | None = None) -> CrossPass:
    """Exact ball figures of S against R from one float32 product per block of synthetic rows.

    The product is of augmented rows, ``[-2 y, |y|^2, 1] . [x, 1, |x|^2] = |y - x|^2``, so each
    block holds squared distances with no further pass over it. Both ball tests
    (``|y_j - x_i|^2 <= real_r2[i]`` and ``<= synth_r2[j]``) and the nearest real item are read off
    the same block: one mask of the pairs within the float32 error bound of either radius, one
    ``flatnonzero``. Of those candidates only the ones within the bound of a radius (a thin band) are
    redone in float64; the others are decided by the float32 value, which is then on the certain
    side. ``gap_r2`` (NaN where a real ball is not a gap ball) adds a third test, ``in_gap``.

    Blocks go to two threads with BLAS held to one thread each, so that the comparisons, which
    numpy runs on one core, overlap with the products.
    """
    m, n = len(sx), len(rx)
    d = sx.shape[1]
    sn = np.einsum("ij,ij->i", sx, sx, dtype=np.float64)
    rn = np.einsum("ij,ij->i", rx, rx, dtype=np.float64)
    eps = float(np.finfo(np.float32).eps)
    # |float32 dot - exact| <= (d + 2) u sum |a_k b_k| <= 2 (d + 2) u (|y|^2 + |x|^2); 4x that here.
    tol = 4.0 * (d + 2) * eps * (float(sn.max()) + float(rn.max()))
    real_lim = np.nan_to_num(real_r2, nan=-np.inf)
    gap = np.full(n, -np.inf) if gap_r2 is None else np.nan_to_num(gap_r2, nan=-np.inf)
    synth_lim = np.nan_to_num(synth_r2, nan=-np.inf)
    col_cand = (np.maximum(real_lim, gap) + tol).astype(np.float32)
    row_cand = (synth_lim + tol).astype(np.float32)
    a = np.hstack([-2.0 * sx, sn[:, None], np.ones((m, 1))]).astype(np.float32)
    b = np.hstack([rx, np.ones((n, 1)), rn[:, None]]).astype(np.float32)
    bt = b.T

    step = int(np.clip(_BLOCK_BYTES // (4 * max(1, n)), 16, 1024))
    blocks = [(start, min(start + step, m)) for start in range(0, m, step)]

    def run(block: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        start, stop = block
        dist = a[start:stop] @ bt
        mask = dist <= col_cand[None, :]
        mask |= dist <= row_cand[start:stop, None]
        flat = np.flatnonzero(mask)  # far faster than a 2-D nonzero on a sparse mask
        qi, ri = np.divmod(flat, n)
        return start, qi + start, ri, dist.reshape(-1)[flat].astype(np.float64), dist.argmin(axis=1)

    parts = _map_blocks(run, blocks)
    qi = np.concatenate([p[1] for p in parts])
    ri = np.concatenate([p[2] for p in parts])
    d2 = np.concatenate([p[3] for p in parts])
    nearest = np.concatenate([p[4] for p in parts]).astype(np.int64)
    # float64 only where the float32 value is within the bound of one of the three radii.
    unsure = ((np.abs(d2 - real_lim[ri]) <= tol) | (np.abs(d2 - gap[ri]) <= tol)
              | (np.abs(d2 - synth_lim[qi]) <= tol))
    if unsure.any():
        d2[unsure] = pair_sq_dists(sx, rx, qi[unsure], ri[unsure])
    inside = d2 <= real_lim[ri]
    out = CrossPass(np.bincount(qi[inside], minlength=m).astype(np.int64), np.zeros(m, bool),
                    np.zeros(n, bool), np.zeros(n, bool), nearest, np.zeros(m))
    out.covered[ri[inside]] = True
    out.in_gap[qi[d2 <= gap[ri]]] = True
    out.in_synth[ri[d2 <= synth_lim[qi]]] = True
    # Nearest real item: float32 argmin, its distance redone in float64 (a reported value, not a
    # ball decision, so a near-tie resolved the float32 way is harmless).
    out.nearest_d2 = pair_sq_dists(sx, rx, np.arange(m), nearest)
    return out


def _map_blocks(run: Callable[[tuple[int, int]], _T], blocks: list[tuple[int, int]]) -> list[_T]:
    """``run`` over ``blocks`` in order, on two threads with one BLAS thread each when
    ``threadpoolctl`` is there (numpy's element-wise passes use one core; BLAS would use both)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return [run(block) for block in blocks]
    if len(blocks) < 2:
        return [run(block) for block in blocks]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, blocks))


def self_radii(x: np.ndarray, k: int, keep: np.ndarray | None = None,
               block: int = _SELF_BLOCK) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact squared k-NN radii of the rows of ``x``: the (k+1)-th smallest ``|x_i - x_j|^2`` over
    all rows j (i itself included), and with ``keep`` also over kept rows only, for kept rows (NaN
    elsewhere), from one pass over the upper triangle of the augmented float32 product.

    A row's threshold is the (k+1)-th smallest float32 value inside its diagonal block (those
    columns alone already hold k+1 values), plus twice the error bound ``tol``; every pair below it
    is kept, in both orientations. Among those candidates the (k+1)-th float32 value ``F`` bounds the
    true radius by ``F + tol``, so only the candidates below ``F + 2 tol`` are redone in float64, and
    the (k+1)-th of those is the radius. ``keep`` raises the threshold of kept rows to their
    (k+1)-th kept column of the diagonal block.
    """
    n, d = x.shape
    xn = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    eps = float(np.finfo(np.float32).eps)
    tol = 4.0 * (d + 2) * eps * 2.0 * float(xn.max())
    a = np.hstack([-2.0 * x, xn[:, None], np.ones((n, 1))]).astype(np.float32)
    b = np.hstack([x, np.ones((n, 1)), xn[:, None]]).astype(np.float32)
    size = max(k + 1, min(n, block))
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] < k + 1:
        starts.pop()  # a last block too small to hold k + 1 columns joins the one before
    blocks = list(zip(starts, starts[1:] + [n], strict=True))
    Triple = tuple[np.ndarray, np.ndarray, np.ndarray]

    def diagonal(blk: tuple[int, int]) -> tuple[np.ndarray, Triple]:
        s, e = blk
        dist = a[s:e] @ b[s:e].T
        t = np.zeros(e - s)
        # A kept row's (k+1)-th kept column is at least its (k+1)-th column: one partition serves.
        kk = np.ones(e - s, dtype=bool) if keep is None else keep[s:e]
        held = np.flatnonzero(~kk)
        if len(held):
            t[held] = np.partition(dist[held], k, axis=1)[:, k]
        if kk.sum() > k:
            t[kk] = np.partition(dist[np.ix_(kk, kk)], k, axis=1)[:, k]
        else:
            t[kk] = np.inf
        lim = (t + 2.0 * tol).astype(np.float32)
        flat = np.flatnonzero(dist <= lim[:, None])
        r, c = np.divmod(flat, e - s)
        return lim, (r + s, c + s, dist.reshape(-1)[flat])

    first = _map_blocks(diagonal, blocks)
    lim = np.concatenate([p[0] for p in first])

    def upper(blk: tuple[int, int]) -> Triple:
        s, e = blk
        if e >= n:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        dist = a[s:e] @ b[e:].T
        mask = dist <= lim[s:e, None]
        mask |= dist <= lim[None, e:]
        flat = np.flatnonzero(mask)
        r, c = np.divmod(flat, n - e)
        r += s
        c += e
        v = dist.reshape(-1)[flat]
        by_row, by_col = v <= lim[r], v <= lim[c]
        return (np.concatenate([r[by_row], c[by_col]]), np.concatenate([c[by_row], r[by_col]]),
                np.concatenate([v[by_row], v[by_col]]))

    parts = [p[1] for p in first] + _map_blocks(upper, blocks)
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts]).astype(np.float64)

    def kth(sel: np.ndarray | None) -> np.ndarray:
        r, c, v = (rows, cols, vals) if sel is None else (rows[sel], cols[sel], vals[sel])
        order = _row_order(r, v, n)
        r, c, v = r[order], c[order], v[order]
        counts = np.bincount(r, minlength=n)
        enough = counts > k
        f = np.full(n, np.inf)
        f[enough] = v[(np.cumsum(counts) - counts)[enough] + k]
        # The true radius is within tol of f: candidates below f - 2 tol are surely nearer, those
        # above f + 2 tol surely further; only the band between is redone in float64.
        below = np.bincount(r[v < f[r] - 2.0 * tol], minlength=n)
        band = (v >= f[r] - 2.0 * tol) & (v <= f[r] + 2.0 * tol)
        r, c = r[band], c[band]
        d2 = pair_sq_dists(x, x, r, c)
        order = _row_order(r, d2, n)
        r, d2 = r[order], d2[order]
        counts = np.bincount(r, minlength=n)
        out = np.full(n, np.nan)
        out[enough] = d2[(np.cumsum(counts) - counts)[enough] + k - below[enough]]
        return out

    if keep is None:
        return kth(None), None
    with ThreadPoolExecutor(2) as pool:  # the sorts release the GIL: both radii at once
        every, among_kept = pool.map(kth, [None, keep[rows] & keep[cols]])
    return every, np.where(keep, among_kept, np.nan)


def _row_order(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """By row, then value (``np.lexsort((values, rows))`` up to the order of equal values): an
    argsort of the values (equal ones in any order), then a stable one of the rows (a radix sort when
    row numbers fit 16 bits)."""
    by_value = np.argsort(values)
    keys = rows[by_value]
    if n <= 1 << 16:
        keys = keys.astype(np.uint16)
    return by_value[np.argsort(keys, kind="stable")]
