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
        vectors of the ``count`` probes of its list ``lists[i]`` (``list_of`` of the index's own rows):
        the queries of one list in one dense product."""
        import faiss

        descending = self.metric_type == faiss.METRIC_INNER_PRODUCT
        scores = np.full((len(queries), k), -np.inf if descending else np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        if not len(queries):
            return scores, ids
        table = self.probes(count)
        order = np.argsort(lists, kind="stable")
        ranked = lists[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])

        def one(span: tuple[int, int]) -> None:
            start, stop = span
            at = order[start:stop]
            probed = table[ranked[start]]
            base = np.concatenate([self.vectors[p] for p in probed])
            base_ids = np.concatenate([self.ids[p] for p in probed])
            top = min(k, len(base))
            if not top:
                return
            found, where = faiss.knn(np.ascontiguousarray(queries[at]), base, top, metric=self.metric_type)
            scores[at, :top] = found  # rows of one list: no other call writes them
            ids[at, :top] = np.where(where >= 0, base_ids[np.maximum(where, 0)], -1)

        spans = list(zip(starts.tolist(), np.r_[starts[1:], len(order)].tolist(), strict=True))
        _on_threads(one, spans)
        return scores, ids


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
