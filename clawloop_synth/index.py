"""A faiss index over embeddings whose ids map back to string keys (trace ids, task ids).

Small sets get an exact ``IndexFlatIP`` (``IndexFlatL2`` for the ``l2`` metric); from
``IndexConfig.exact_below`` points on, an ``IndexIVFFlat`` whose probe counts are *measured* at build
time against flat search (recall@10, ties counted), on a fine ladder of counts, twice:

* ``nprobe`` for the index's own points (self-joins such as k-NN radii; the query itself excluded);
* ``nprobe_cross`` for outside queries, calibrated on a sample of them when ``build`` gets one.

Both are recorded with the recall measured (``measured_recall``, ``measured_recall_cross``). They
differ several-fold: on the bench's data (``evals/bench_coverage.py``, 200,000 real x 50,000
synthetic, 384-d, 2,683 lists) own points reach recall@10 0.98 at 12 probes, while synthetic queries
drawn with other topic weights land in regions the real set barely holds, whose neighbours spread over
many lists, and need about 32. A single count (the first version) made the 200,000-point self-join
pay for the outside queries: 477 s instead of about 60 s.

Self-joins (``search_own``: the k-NN radii of the index's own points) do not go through faiss's
per-query search: the points of one list share their probes, the lists nearest to that list's
centroid, and meet those lists' vectors in one dense product (``clawloop_synth._cells``). Its probe
count (``cell_probes``) is calibrated on the same sampled own points; a true neighbour is found
exactly when its list is probed, so the recall is read off the neighbours' lists.

Why ``nlist = 2 sqrt(n)`` trained on 12 points per list: the self-join of every point is the largest
search of a coverage run, and its products want lists of a few hundred points (a product of 50 x
1,200 runs several times slower per multiply-add than one of 500 x 4,000); fewer lists also cut the
k-means and the coarse assignment of every point, which grow with n x nlist. Measured with
``python evals/bench_coverage.py --part million --traces 100000 --tasks 5000`` data (airline-like,
384-d, load 12 to 17, CPU seconds): 6 sqrt(n) = 1,897 lists: build 26.8 s, self-join of all 100,000
points (k = 16) 18.6 s through faiss at 12 probes, 25.8 s by list at 24 probes per list (faiss's
thread pool then still on, spinning); 2 sqrt(n) =
632 lists: build 14.4 s, self-join 21.3 s through faiss (5 probes), 8.2 s by list (8 probes per list,
recall@10 0.977 on 1,000 sampled points); 3 sqrt(n): 9.5 s by list. Outside queries keep their own
probes, each query's nearest centroids as faiss picks them (shared probes were tried and dropped: tasks
far from the lists' centroids needed 112 probes per list for the same recall), but the probed lists are
then searched by stored list in dense products (``Cells.search_probes``), the same candidates as
faiss's scan: 10,000 tasks among 1,000,000 traces at 32 probes, k = 64, took 29-31 s through faiss and
8.6-9.1 s by list (load 4-5, ``evals/bench_coverage.py --part million`` data).

Why IVF and not HNSW: on 2 shared cores HNSW (M=32, efConstruction=40) took 110 s to build over
200,000 x 384 vectors, the whole budget of a run.

Why ``exact_below = 20_000``: measured with ``python evals/bench_coverage.py --tune-index`` (the
self-join n x n with k = 11 on the bench's clustered 384-d data; seconds include IVF training and
calibration; 2 cores shared with other jobs, so the figures are noisy; measured with the earlier
IVF settings, 2 sqrt(n) lists):

    n        flat s   ivf s   ivf recall@10   nprobe
    5,000    0.95     1.72    0.973           16
    10,000   3.23     2.26    0.975           4
    20,000   10.10    1.60    0.987           4
    40,000   9.71     1.33    0.981           4

Up to about 10,000 points flat search costs at most 1.5x the IVF path, so exactness is kept; from
20,000 on IVF is several times faster at a measured recall@10 above 0.95.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from clawloop_synth._cells import Cells

__all__ = ["IndexConfig", "Metric", "VectorIndex", "normalize", "recall_at_k"]

Metric = Literal["cosine", "l2"]

# Probe counts tried in order: steps of about 1.25x, so calibration overshoots the needed count by
# at most that much (doubling overshot by up to 2x, and every search pays for it). A step costs
# one search of the calibration queries, far less than the searches it saves.
_PROBE_LADDER = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
                 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024)


@dataclass(frozen=True)
class IndexConfig:
    """How an index is built; ``nlist``/``nprobe`` of None are chosen from the data."""

    exact_below: int = 20_000
    target_recall: float = 0.96
    nlist: int | None = None
    nprobe: int | None = None  # fixes both probe counts (own points and outside queries)
    calibration_queries: int = 1024
    lists_per_sqrt: float = 2.0  # nlist = lists_per_sqrt * sqrt(n)
    train_per_list: int = 12  # k-means training points per list
    seed: int = 0


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm as C-contiguous float32 (zero rows stay zero)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def _prepare(vectors: np.ndarray, metric: Metric) -> np.ndarray:
    if metric == "cosine":
        return normalize(vectors)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {x.shape}")
    return x


class VectorIndex:
    """Exact or IVF faiss index plus the vectors it holds and their string keys.

    Scores follow faiss: for ``cosine`` inner products of unit vectors (higher is closer), for
    ``l2`` squared distances (lower is closer). Missing results (k larger than the index) have key
    None and id -1.
    """

    def __init__(self, index: Any, vectors: np.ndarray, keys: list[str], metric: Metric, *,
                 exact: bool, nprobe: int = 0, measured_recall: float | None = None,
                 nprobe_cross: int | None = None, measured_recall_cross: float | None = None,
                 cell_probes: int | None = None, measured_recall_cells: float | None = None) -> None:
        self.index = index
        self.vectors = vectors
        self.keys = np.asarray(keys, dtype=object)
        self.metric: Metric = metric
        self.exact = exact
        self.nprobe = nprobe  # IVF probes for the index's own points (self-joins)
        self.measured_recall = measured_recall
        self.nprobe_cross = nprobe if nprobe_cross is None else nprobe_cross  # for outside queries
        self.measured_recall_cross = measured_recall_cross
        self.cell_probes = cell_probes  # probes per list for self-joins by list (search_own)
        self.measured_recall_cells = measured_recall_cells
        self._cells: Cells | None = None

    # ------------------------------------------------------------------------------- building

    @classmethod
    def build(cls, vectors: np.ndarray, keys: list[str] | None = None, *, metric: Metric = "cosine",
              config: IndexConfig | None = None, queries: np.ndarray | None = None) -> VectorIndex:
        """Index ``vectors`` (normalized first for ``cosine``); ``keys`` default to row numbers.

        ``queries``: a sample of the outside queries the index will answer; the IVF probe count for
        outside queries is calibrated on them (without them it is the one measured on own points).
        """
        import faiss

        config = config or IndexConfig()
        x = _prepare(vectors, metric)
        n, dim = x.shape
        keys = [str(i) for i in range(n)] if keys is None else [str(key) for key in keys]
        if len(keys) != n:
            raise ValueError(f"{len(keys)} keys for {n} vectors")
        faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
        if n < max(config.exact_below, 1):
            flat = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
            flat.add(x)
            return cls(flat, x, keys, metric, exact=True)

        nlist = config.nlist or int(np.clip(min(config.lists_per_sqrt * np.sqrt(n), n / 20), 1, 65_536))
        quantizer = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)
        ivf.cp.niter = 10
        ivf.cp.seed = config.seed
        ivf.cp.min_points_per_centroid = min(max(config.train_per_list, 1), 39)  # no faiss warning
        rng = np.random.default_rng(config.seed)
        # k-means cost grows with sample x nlist; 20 points per list place the centroids well enough
        # for probing (the probe count is measured afterwards anyway).
        size = min(n, max(config.train_per_list, 1) * nlist)
        ivf.train(x[np.sort(rng.choice(n, size=size, replace=False))])
        ivf.add(x)
        index = cls(ivf, x, keys, metric, exact=False)
        if config.nprobe is not None:
            index.nprobe = index.nprobe_cross = min(config.nprobe, nlist)
            index.cell_probes = None  # a fixed count: faiss's per-query probing, for self-joins too
            ivf.nprobe = index.nprobe
        else:
            index._calibrate(config, rng, None if queries is None else _prepare(queries, metric))
        return index

    def _calibrate(self, config: IndexConfig, rng: np.random.Generator, outside: np.ndarray | None) -> None:
        """Smallest probe count on a fine ladder whose measured recall@10 reaches the target, once
        for own points (the query itself excluded) and once for ``outside`` queries.

        Own points sit where the lists were trained and need few probes; outside queries from a
        differently weighted distribution land in thin regions whose neighbours spread over many
        lists, and need several times more. One shared count would make the self-join pay for them.
        """
        import faiss

        n = len(self.vectors)
        rows = rng.choice(n, size=min(n, config.calibration_queries), replace=False)
        own = self.vectors[rows]
        flat = faiss.IndexFlatIP(self.dim) if self.metric == "cosine" else faiss.IndexFlatL2(self.dim)
        flat.add(self.vectors)
        truth, truth_ids = flat.search(own, 11)
        self.nprobe, self.measured_recall = self._ladder(own, truth[:, 1:], 1, config.target_recall)
        cells = self.cells()
        self.cell_probes, self.measured_recall_cells = self._cell_ladder(
            cells.list_of[rows], truth_ids[:, 1:], config.target_recall)
        self.nprobe_cross, self.measured_recall_cross = self.nprobe, None
        if outside is not None and len(outside):
            pick = rng.choice(len(outside), size=min(len(outside), config.calibration_queries), replace=False)
            queries = np.ascontiguousarray(outside[pick])
            self.nprobe_cross, self.measured_recall_cross = self._ladder(
                queries, flat.search(queries, 10)[0], 0, config.target_recall, start=self.nprobe)
        self.index.nprobe = self.nprobe_cross

    def _cell_ladder(self, lists: np.ndarray, truth_ids: np.ndarray, target: float,
                     start: int = 1) -> tuple[int, float]:
        """Smallest probe count per list (see :mod:`clawloop_synth._cells`) whose recall@10 on queries of
        lists ``lists`` reaches ``target``, read off the true neighbours' lists."""
        cells = self.cells()
        nlist = int(self.index.nlist)
        recall = 0.0
        for count in [p for p in _PROBE_LADDER if start <= p < nlist] + [nlist]:
            recall = cells.recall(lists, truth_ids, count)
            if recall >= target:
                return count, recall
        return nlist, recall

    def _ladder(self, queries: np.ndarray, truth: np.ndarray, skip: int, target: float,
                start: int = 1) -> tuple[int, float]:
        nlist = int(self.index.nlist)
        steps = [p for p in _PROBE_LADDER if start <= p < nlist] + [nlist]
        recall = 0.0
        for nprobe in steps:
            found = self._search(queries, 10 + skip, nprobe)[0][:, skip:]
            recall = recall_at_k(truth, found, self.metric)
            if recall >= target:
                return nprobe, recall
        return nlist, recall

    # ------------------------------------------------------------------------------- searching

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def prepare(self, queries: np.ndarray) -> np.ndarray:
        """Queries in the index's space (normalized for ``cosine``)."""
        q = _prepare(queries, self.metric)
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have dimension {q.shape[1]}, the index {self.dim}")
        return q

    def _search(self, q: np.ndarray, k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        if self.exact:
            scores, ids = self.index.search(q, k)
        else:
            scores, ids = self.index.search(q, k, params=_probes(nprobe))
        return scores, ids

    def search_prepared(self, q: np.ndarray, k: int, *, own: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """faiss scores and row ids for queries already in the index's space.

        ``own``: the queries are the index's own points (a self-join), so the smaller probe count
        calibrated on them applies; otherwise the one calibrated on outside queries.
        """
        nprobe = self.nprobe if own else self.nprobe_cross
        if self.exact:
            return self._search(q, max(1, k), nprobe)
        # The same lists faiss would probe (each query's nearest centroids), searched list by list in
        # dense products (:meth:`Cells.search_probes`): several times faiss's scan at 50,000 queries.
        _, probes = self.index.quantizer.search(np.ascontiguousarray(q), min(nprobe, int(self.index.nlist)))
        return self.cells().search_probes(q, probes, max(1, k))

    def range_prepared(self, q: np.ndarray, radius: float, *, own: bool = False
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """faiss range search (``lims``, scores, ids): inner products above ``radius`` for
        ``cosine``, squared distances below it for ``l2``; probe counts as in ``search_prepared``."""
        if self.exact:
            lims, scores, ids = self.index.range_search(q, radius)
        else:
            lims, scores, ids = self.index.range_search(q, radius, params=_probes(
                self.nprobe if own else self.nprobe_cross))
        return lims, scores, ids

    def search_own(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss scores and row ids of the ``k`` nearest indexed vectors of the index's own ``rows``
        (themselves included): a self-join. An IVF index with a calibrated per-list probe count
        answers it list by list in dense products (:mod:`clawloop_synth._cells`); otherwise it is
        :meth:`search_prepared` with ``own=True``."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.exact or self.cell_probes is None:
            return self.search_prepared(self.vectors[rows], k, own=True)
        cells = self.cells()
        return cells.search(self.vectors[rows], cells.list_of[rows], max(1, k), self.cell_probes)

    def cells(self) -> Cells:
        """The IVF's lists as arrays (built on first use)."""
        if self._cells is None:
            import faiss

            self._cells = Cells(self.index, faiss.METRIC_INNER_PRODUCT if self.metric == "cosine"
                                else faiss.METRIC_L2)
        return self._cells

    def search_ids(self, queries: np.ndarray, k: int, *, own: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """faiss scores and integer row ids of the ``k`` nearest indexed vectors."""
        return self.search_prepared(self.prepare(queries), k, own=own)

    def search(self, queries: np.ndarray, k: int, *, own: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """faiss scores and the keys (object array, None when missing) of the ``k`` nearest."""
        scores, ids = self.search_ids(queries, k, own=own)
        keys = self.keys[np.maximum(ids, 0)]
        keys[ids < 0] = None
        return scores, keys

    # ------------------------------------------------------------------------------- storage

    def save(self, folder: Path) -> None:
        """Write ``index.faiss``, ``vectors.npy``, ``keys.json`` and ``meta.json`` into ``folder``."""
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / "index.faiss"))
        np.save(folder / "vectors.npy", self.vectors)
        (folder / "keys.json").write_text(json.dumps(self.keys.tolist()))
        meta = {**self.describe(), "dim": self.dim}
        (folder / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> VectorIndex:
        import faiss

        meta = json.loads((folder / "meta.json").read_text())
        index: Any = faiss.read_index(str(folder / "index.faiss"))
        cross = meta.get("nprobe_cross", meta["nprobe"])
        if not meta["exact"]:
            faiss.extract_index_ivf(index).nprobe = cross
        return cls(index, np.load(folder / "vectors.npy"), json.loads((folder / "keys.json").read_text()),
                   meta["metric"], exact=meta["exact"], nprobe=meta["nprobe"],
                   measured_recall=meta["measured_recall"], nprobe_cross=cross,
                   measured_recall_cross=meta.get("measured_recall_cross"), cell_probes=meta.get("cell_probes"),
                   measured_recall_cells=meta.get("measured_recall_cells"))

    def describe(self) -> dict[str, Any]:
        return {"size": len(self), "metric": self.metric, "exact": self.exact,
                "nlist": None if self.exact else int(self.index.nlist),
                "nprobe": self.nprobe, "measured_recall": self.measured_recall,
                "nprobe_cross": self.nprobe_cross, "measured_recall_cross": self.measured_recall_cross,
                "cell_probes": self.cell_probes, "measured_recall_cells": self.measured_recall_cells}


def _probes(nprobe: int) -> Any:
    """Per-call IVF search parameters (the index's own ``nprobe`` is left alone)."""
    import faiss

    params = faiss.SearchParametersIVF()
    params.nprobe = max(1, int(nprobe))
    return params


def recall_at_k(exact_scores: np.ndarray, approx_scores: np.ndarray, metric: Metric) -> float:
    """Share of approximate results at least as close as the exact k-th neighbour (ties count).

    Comparing scores rather than ids keeps duplicates from counting as misses.
    """
    k = exact_scores.shape[1]
    if metric == "cosine":
        bound = exact_scores[:, -1:] - 1e-5
        hits = approx_scores >= bound
    else:
        bound = exact_scores[:, -1:] + 1e-5 * np.maximum(1.0, np.abs(exact_scores[:, -1:]))
        hits = approx_scores <= bound
    return float(np.minimum(hits.sum(axis=1), k).mean() / k)
