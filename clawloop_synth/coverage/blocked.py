"""Exact ball figures of two small sets from blocked float32 products, with no faiss search.

On ``evaluate``'s exact path (both sets small), ``self_radii`` reads the k-NN radii of a set off the
upper triangle of one blocked float32 product, and ``cross_pass`` reads every ball figure of S against
R off one product of S with R. Both multiply augmented rows,
``[-2 y, |y|^2, 1] . [x, 1, |x|^2] = |y - x|^2``, so the blocks hold squared distances with no
further pass, and run on two threads (BLAS held to one thread each) so that numpy's one-core
comparisons overlap with the products. At 10,000 x 10,000 x 384-d that is 2 products' worth of
float32 multiply-adds in all (the self-joins are half products, plus their diagonal blocks).

Decisions near a boundary are redone in float64 (``geometry.pair_sq_dists``), as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from clawloop_synth.coverage.geometry import pair_sq_dists

__all__ = ["CrossPass", "cross_pass", "self_radii"]

_BLOCK_BYTES = 1 << 23  # float32 distance block per thread in cross_pass (8 MiB, within L3 for two)
_SELF_BLOCK = 1024  # rows per block in self_radii; its diagonal block sets the row thresholds
_T = TypeVar("_T")


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
