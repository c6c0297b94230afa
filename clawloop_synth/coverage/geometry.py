"""Neighbour tables and k-NN-ball membership without n x m distance matrices.

Two ways to ask "which balls B(c_i, r_i) contain the query q":

* exact (small ball sets): a ball test is an inner product. With ``a_i = [2 c_i, r_i^2 - |c_i|^2, 1]``
  and ``b = [q, 1, -|q|^2]``, ``a_i . b = r_i^2 - |q - c_i|^2``, so the balls holding q are a faiss
  range search for inner products >= 0 over a flat index of the ``a_i``, run on query chunks;
* approximate (large ball sets): the balls among the query's ``candidates`` nearest centres found
  by the (IVF) index. A ball whose centre is further away than the candidates is missed.

The exact blocked passes over all pairs of two small sets live in ``blocked.py``.

faiss computes in float32; every decision near a boundary is redone in float64 from the vectors
(``|q - c|^2`` by differences, so identical vectors are at distance exactly 0 and ties with a
radius of 0 count as inside).
"""

from __future__ import annotations

import numpy as np

from clawloop_synth.index import VectorIndex

__all__ = [
    "ball_counts_exact",
    "ball_counts_from_candidates",
    "error_band",
    "own_neighbours",
    "pair_sq_dists",
    "pairs_within",
    "refined_neighbours",
    "within",
]

_ELEMENTS = 1 << 23  # float64 elements per temporary block (64 MiB)
_PAIRS = 1 << 24  # range-search results per query chunk, worst case


def pair_sq_dists(queries: np.ndarray, base: np.ndarray, qi: np.ndarray, bi: np.ndarray) -> np.ndarray:
    """float64 ``|queries[qi] - base[bi]|^2`` for index pairs, in blocks."""
    out = np.empty(len(qi), dtype=np.float64)
    step = max(1, _ELEMENTS // max(1, queries.shape[1]))
    for start in range(0, len(qi), step):
        sl = slice(start, start + step)
        diff = queries[qi[sl]].astype(np.float64) - base[bi[sl]]
        out[sl] = np.einsum("ij,ij->i", diff, diff)
    return out


def own_neighbours(index: VectorIndex, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`refined_neighbours` of the index's own ``rows`` (a self-join), through
    ``VectorIndex.search_own`` when the index is approximate (list by list, dense products)."""
    if index.exact:
        return refined_neighbours(index, index.vectors[rows], k, own=True)
    scores, ids = index.search_own(rows, min(k, len(index)))
    d2 = (2.0 - 2.0 * scores.astype(np.float64)) if index.metric == "cosine" else scores.astype(np.float64)
    return ids, np.where(ids >= 0, np.maximum(d2, 0.0), np.inf)


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
