"""Self-joins of an IVF index's own points list by list, as dense products (``VectorIndex.search_own``).

faiss's IVF search works query by query: the coarse quantizer ranks every list for each query, then
each probed list's vectors are scanned one dot product at a time. For the index's own points the
lists are already known, so the points of one list can share their probes: the lists whose
centroids are nearest to that list's centroid. All of a list's queries then meet all of its probed
lists' vectors in one float32 matrix product (BLAS speed, several times that of the scan, and no
quantizer search), and the k best of each row come from faiss's blocked k-NN (``faiss.knn``).

The probe count is calibrated like the IVF's, on sampled own points against exact search: inside
its probed lists the search is exact, so a true neighbour is found exactly when its list is among
the probes of the query's list, and the recall at every probe count is read off the neighbours'
lists without a search (:meth:`Cells.recall`).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["Cells"]


class Cells:
    """The lists of an ``IndexIVFFlat`` as arrays: each list's row ids, a view of its stored vectors,
    the list of every row, and each list's probes (the lists nearest to its centroid, itself first)."""

    def __init__(self, ivf: Any, metric_type: int) -> None:
        import faiss

        self.metric_type = metric_type
        nlist, dim = int(ivf.nlist), int(ivf.d)
        invlists = ivf.invlists
        self.ids: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []  # views on faiss's own storage: no copy of the data
        self.list_of = np.full(int(ivf.ntotal), -1, dtype=np.int32)
        for lst in range(nlist):
            size = int(invlists.list_size(lst))
            if size == 0:
                self.ids.append(np.zeros(0, np.int64))
                self.vectors.append(np.zeros((0, dim), np.float32))
                continue
            ids = faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy()
            codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * int(ivf.code_size))
            self.ids.append(ids)
            self.vectors.append(codes.view(np.float32).reshape(size, dim))
            self.list_of[ids] = lst
        self._quantizer = ivf.quantizer
        self._centroids = ivf.quantizer.reconstruct_n(0, nlist)
        self._probes = np.zeros((nlist, 0), dtype=np.int64)

    def probes(self, count: int) -> np.ndarray:
        """Per list, the ``count`` lists whose centroids are nearest to its own (itself in column 0)."""
        count = min(count, len(self.ids))
        if self._probes.shape[1] < count:
            _, near = self._quantizer.search(self._centroids, count)
            rows = np.arange(len(self.ids))
            # Itself first: each row drops itself, or its last probe when its own centroid did not come
            # back (ties), so every row keeps count - 1 others.
            keep = near != rows[:, None]
            keep[keep.all(axis=1), -1] = False
            self._probes = np.hstack([rows[:, None], near[keep].reshape(len(rows), count - 1)])
        return self._probes[:, :count]

    def recall(self, lists: np.ndarray, truth: np.ndarray, count: int) -> float:
        """Share of the true neighbours ``truth`` (ids, one row per query, whose list is ``lists[i]``) that
        a search of ``count`` probes per list finds: those whose list is among the probes of the query's."""
        probes = self.probes(count)[lists]  # (queries, count)
        valid = truth >= 0
        lists = self.list_of[np.where(valid, truth, 0)]
        found = (lists[:, :, None] == probes[:, None, :]).any(axis=2) & valid
        return float(found.sum() / max(1, valid.sum()))

    def search(self, queries: np.ndarray, lists: np.ndarray, k: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss-style (scores, ids) of the ``k`` nearest stored vectors of each query, among the
        vectors of the ``count`` probes of its list ``lists[i]`` (``list_of`` of the index's own rows)."""
        return self.search_probes(queries, self.probes(count)[lists], k)

    def search_probes(self, queries: np.ndarray, probes: np.ndarray, k: int, *,
                      chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """faiss-style (scores, ids) of the ``k`` nearest stored vectors of each query among the lists
        ``probes[i]`` (-1: none), list by list: each stored list meets every query that probes it in one
        dense product, and each query's best ``k`` are merged from its lists' best ``k`` at the end.

        Going by stored list instead of by query group copies the queries, not the probed lists' vectors:
        a search of a few rows per list (the radii a coverage run needs) would otherwise concatenate
        every probed list's vectors for each group, more bytes than the products themselves."""
        import faiss

        descending = self.metric_type == faiss.METRIC_INNER_PRODUCT
        worst = -np.inf if descending else np.inf
        scores = np.full((len(queries), k), worst, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        width = probes.shape[1] if probes.ndim == 2 else 0
        for start in range(0, len(queries), chunk):
            q = queries[start:start + chunk]
            flat = probes[start:start + chunk].ravel()
            cand_s = np.full((len(flat), k), worst, dtype=np.float32)  # one row per (query, probe) slot
            cand_i = np.full((len(flat), k), -1, dtype=np.int64)
            order = np.argsort(flat, kind="stable")
            order = order[flat[order] >= 0]
            ranked = flat[order]
            starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if len(order) else np.zeros(0, int)

            def one(span: tuple[int, int], q: np.ndarray = q, order: np.ndarray = order, ranked: np.ndarray = ranked,
                    cand_s: np.ndarray = cand_s, cand_i: np.ndarray = cand_i) -> None:
                slots = order[span[0]:span[1]]
                lst = int(ranked[span[0]])
                base = self.vectors[lst]
                top = min(k, len(base))
                if not top:
                    return
                found, where = faiss.knn(np.ascontiguousarray(q[slots // width]), base, top, metric=self.metric_type)
                cand_s[slots, :top] = found  # slots of one list: no other call writes them
                cand_i[slots, :top] = np.where(where >= 0, self.ids[lst][np.maximum(where, 0)], -1)

            spans = list(zip(starts.tolist(), np.r_[starts[1:], len(order)].tolist(), strict=True))
            _on_threads(one, spans)
            cand_s = cand_s.reshape(len(q), width * k)
            cand_i = cand_i.reshape(len(q), width * k)
            key = -cand_s if descending else cand_s
            if width > 1:
                pick = np.argpartition(key, k - 1, axis=1)[:, :k]
                key = np.take_along_axis(key, pick, axis=1)
                cand_s, cand_i = np.take_along_axis(cand_s, pick, axis=1), np.take_along_axis(cand_i, pick, axis=1)
            best = np.argsort(key, axis=1, kind="stable")
            scores[start:start + len(q)] = np.take_along_axis(cand_s, best, axis=1)
            ids[start:start + len(q)] = np.take_along_axis(cand_i, best, axis=1)
        return scores, ids

    def own_list_kth(self, k: int, keep: np.ndarray | None = None, *, chunk: int = 2048) -> np.ndarray:
        """Per indexed row, the (k+1)-th smallest squared distance (itself included) to the rows of its
        own list where ``keep`` holds (every row when None); inf where the list has too few. The self-join
        probes a row's own list first, so its k-NN radius can only be smaller: this is an upper bound
        of it, from one product per list instead of ``count``. Squared distances assume unit vectors
        for inner products (``2 - 2 x.y``), float32 (callers add the error band)."""
        import faiss

        inner = self.metric_type == faiss.METRIC_INNER_PRODUCT
        out = np.full(len(self.list_of), np.inf)
        spans = [(lst, start) for lst, ids in enumerate(self.ids) for start in range(0, len(ids), chunk)]

        def one(span: tuple[int, int]) -> None:
            lst, start = span
            ids, base = self.ids[lst], self.vectors[lst]
            if keep is not None:
                base = base[keep[ids]]
            if len(base) <= k:
                return
            rows = self.vectors[lst][start:start + chunk]
            dots = rows @ base.T
            if inner:
                d2 = 2.0 - 2.0 * dots
            else:
                d2 = np.einsum("ij,ij->i", rows, rows)[:, None] + np.einsum("ij,ij->i", base, base)[None, :] - 2 * dots
            out[ids[start:start + chunk]] = np.maximum(np.partition(d2, k, axis=1)[:, k], 0.0)

        _on_threads(one, spans)
        return out


def _on_threads(run: Any, spans: list[tuple[int, int]], threads: int = 2) -> None:
    """``run`` over ``spans`` on ``threads`` Python threads, faiss and BLAS held to one thread each: the
    products of one list are small, and at that size (and on a busy machine) their own thread pools spin
    more than they compute; faiss releases the GIL, so the threads overlap."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - installed with scikit-learn
            limits: Any = contextlib.nullcontext()
        else:
            limits = threadpool_limits(limits=1, user_api="blas")
        with limits, ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, spans))
    finally:
        faiss.omp_set_num_threads(before)
