"""A faiss index over embeddings whose ids map back to string keys (trace ids, task ids).

Small sets get an exact ``IndexFlatIP`` (``IndexFlatL2`` for the ``l2`` metric); from
``IndexConfig.exact_below`` points on, an ``IndexIVFFlat`` whose probe count is *measured* at build
time: a sample of the indexed points is searched exactly and with the IVF index, and ``nprobe``
doubles until recall@10 (ties counted, the query itself excluded) reaches
``IndexConfig.target_recall``. The index records the recall it measured (``measured_recall``).

Why IVF and not HNSW: on 2 shared cores HNSW (M=32, efConstruction=40) took 110 s to build over
200,000 x 384 vectors; IVF (1,024 lists) trained and filled in about 12 s, and the build is
within every run's time budget.

Why ``exact_below = 20_000``: measured with ``python evals/bench_coverage.py --tune-index`` (the
self-join n x n with k = 11 on the bench's clustered 384-d data; seconds include IVF training and
calibration; 2 cores shared with other jobs, so the figures are noisy):

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

__all__ = ["IndexConfig", "Metric", "VectorIndex", "normalize", "recall_at_k"]

Metric = Literal["cosine", "l2"]


@dataclass(frozen=True)
class IndexConfig:
    """How an index is built; ``nlist``/``nprobe`` of None are chosen from the data."""

    exact_below: int = 20_000
    target_recall: float = 0.96
    nlist: int | None = None
    nprobe: int | None = None
    calibration_queries: int = 512
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
                 exact: bool, nprobe: int = 0, measured_recall: float | None = None) -> None:
        self.index = index
        self.vectors = vectors
        self.keys = np.asarray(keys, dtype=object)
        self.metric: Metric = metric
        self.exact = exact
        self.nprobe = nprobe
        self.measured_recall = measured_recall

    # ------------------------------------------------------------------------------- building

    @classmethod
    def build(cls, vectors: np.ndarray, keys: list[str] | None = None, *, metric: Metric = "cosine",
              config: IndexConfig | None = None, queries: np.ndarray | None = None) -> VectorIndex:
        """Index ``vectors`` (normalized first for ``cosine``); ``keys`` default to row numbers.

        ``queries``: a sample of the outside queries the index will answer; an IVF index is then
        calibrated on them too (the lower recall of the two counts), not only on its own points.
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

        nlist = config.nlist or int(np.clip(min(2 * np.sqrt(n), n / 40), 1, 65_536))
        quantizer = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)
        ivf.cp.niter = 10
        ivf.cp.seed = config.seed
        rng = np.random.default_rng(config.seed)
        # 40 points per centroid is what faiss asks for; more only slows k-means down.
        sample = x[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
        ivf.train(sample)
        ivf.add(x)
        index = cls(ivf, x, keys, metric, exact=False)
        if config.nprobe is not None:
            ivf.nprobe = index.nprobe = config.nprobe
        else:
            index._calibrate(config, rng, None if queries is None else _prepare(queries, metric))
        return index

    def _calibrate(self, config: IndexConfig, rng: np.random.Generator, outside: np.ndarray | None) -> None:
        """Double ``nprobe`` until the measured recall@10 reaches the target (own points, the query
        itself excluded, and ``outside`` queries when given)."""
        import faiss

        n = len(self.vectors)
        sets = [(self.vectors[rng.choice(n, size=min(n, config.calibration_queries), replace=False)], 1)]
        if outside is not None and len(outside):
            pick = rng.choice(len(outside), size=min(len(outside), config.calibration_queries), replace=False)
            sets.append((np.ascontiguousarray(outside[pick]), 0))
        flat = faiss.IndexFlatIP(self.dim) if self.metric == "cosine" else faiss.IndexFlatL2(self.dim)
        flat.add(self.vectors)
        truths = [flat.search(q, 10 + skip)[0] for q, skip in sets]
        nlist = self.index.nlist
        nprobe = 1
        while True:
            self.index.nprobe = nprobe
            recall = min(recall_at_k(truth[:, skip:], self.index.search(q, 10 + skip)[0][:, skip:], self.metric)
                         for (q, skip), truth in zip(sets, truths, strict=True))
            if recall >= config.target_recall or nprobe >= nlist:
                break
            nprobe = min(2 * nprobe, nlist)
        self.nprobe, self.measured_recall = nprobe, recall

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

    def search_ids(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss scores and integer row ids of the ``k`` nearest indexed vectors."""
        q = self.prepare(queries)
        scores, ids = self.index.search(q, max(1, k))
        return scores, ids

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss scores and the keys (object array, None when missing) of the ``k`` nearest."""
        scores, ids = self.search_ids(queries, k)
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
        meta = {"metric": self.metric, "exact": self.exact, "nprobe": self.nprobe,
                "measured_recall": self.measured_recall, "size": len(self), "dim": self.dim}
        (folder / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> VectorIndex:
        import faiss

        meta = json.loads((folder / "meta.json").read_text())
        index: Any = faiss.read_index(str(folder / "index.faiss"))
        if not meta["exact"]:
            faiss.extract_index_ivf(index).nprobe = meta["nprobe"]
        return cls(index, np.load(folder / "vectors.npy"), json.loads((folder / "keys.json").read_text()),
                   meta["metric"], exact=meta["exact"], nprobe=meta["nprobe"],
                   measured_recall=meta["measured_recall"])

    def describe(self) -> dict[str, Any]:
        return {"size": len(self), "metric": self.metric, "exact": self.exact,
                "nprobe": self.nprobe, "measured_recall": self.measured_recall}


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
