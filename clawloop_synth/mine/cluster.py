"""Cluster failure-card vectors: faiss spherical k-means with k chosen by silhouette, or HDBSCAN.

Failure cards repeat a lot (the same error on many traces), so the algorithms run on the unique
vectors weighted by their counts: the result is the same as on all rows, faster and steadier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Clustering", "cluster_vectors", "silhouette", "spherical_kmeans"]

_SIL_SAMPLE = 3000
_K_SAMPLE = 5000


@dataclass
class Clustering:
    """Labels per input row (0..k-1, by decreasing size; -1 is HDBSCAN noise) and how k was chosen."""

    labels: np.ndarray
    k: int
    method: str
    silhouette: float
    scores: dict[int, float] = field(default_factory=dict)
    centroids: np.ndarray | None = None


def _unique(x: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique rows, the inverse map back to ``x`` and the counts (the sums of ``weights`` when given)."""
    rounded = np.ascontiguousarray(np.round(x, 5))
    _, first, inverse, counts = np.unique(rounded.view(np.dtype((np.void, rounded.dtype.itemsize * x.shape[1]))),
                                          return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    if weights is not None:
        counts = np.bincount(inverse, weights=np.asarray(weights, dtype=np.float64), minlength=len(first))
    return x[first], inverse, counts


def _kmeans_pp(x: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted k-means++ seeding on unit rows (cosine distance): spread-out starting centroids."""
    first = int(rng.choice(len(x), p=w / w.sum()))
    chosen = [first]
    dist = np.clip(1.0 - x @ x[first], 0.0, None)
    for _ in range(1, k):
        p = w * dist**2
        total = p.sum()
        nxt = int(rng.choice(len(x), p=p / total)) if total > 0 else int(rng.choice(len(x), p=w / w.sum()))
        chosen.append(nxt)
        dist = np.minimum(dist, np.clip(1.0 - x @ x[nxt], 0.0, None))
    return np.ascontiguousarray(x[chosen], dtype=np.float32)


def spherical_kmeans(x: np.ndarray, k: int, seed: int = 0, weights: np.ndarray | None = None,
                     niter: int = 30, n_init: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """faiss spherical k-means on unit rows; returns (labels, unit centroids).

    faiss seeds with random rows, which on duplicate-heavy data often starts two centroids on one
    point; k-means++ seeding and ``n_init`` restarts (best weighted objective kept; 8 for small
    inputs, 2 past 20,000 rows) make the result depend far less on the seed.
    """
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    k = max(1, min(k, len(x)))
    rng = np.random.default_rng(seed)
    n_init = n_init or (8 if len(x) < 20_000 else 2)
    # Small problems run faster on one thread than on contended OpenMP workers.
    threads = faiss.omp_get_max_threads()
    if len(x) * k < 200_000:
        faiss.omp_set_num_threads(1)
    try:
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for attempt in range(n_init):
            km = faiss.Kmeans(x.shape[1], k, niter=niter, nredo=1, seed=seed * 7919 + attempt, spherical=True,
                              verbose=False, max_points_per_centroid=max(256, len(x) // k + 1),
                              min_points_per_centroid=1)
            km.train(x, weights=w.astype(np.float32), init_centroids=_kmeans_pp(x, w, k, rng))
            sim, assigned = km.index.search(x, 1)
            objective = float((sim.reshape(-1) * w).sum())
            if best is None or objective > best[0]:
                best = (objective, assigned.reshape(-1).astype(np.int64), np.array(km.centroids, copy=True))
    finally:
        faiss.omp_set_num_threads(threads)
    assert best is not None
    return best[1], best[2]


def silhouette(x: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
               sample: int = _SIL_SAMPLE, seed: int = 0) -> float:
    """Weighted cosine silhouette; rows beyond ``sample`` are subsampled (as scikit-learn's
    ``sample_size`` does). A row stands for ``weights[i]`` identical points."""
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(x) > sample:
        pick = np.random.default_rng(seed).choice(len(x), size=sample, replace=False, p=w / w.sum())
        x, labels, w = x[pick], labels[pick], np.ones(sample)
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    dist = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    member = (labels[:, None] == clusters[None, :]).astype(np.float64)  # rows x clusters
    size = (member * w[:, None]).sum(axis=0)
    mean_to = (dist * w[None, :]) @ member  # weighted sum of distances to each cluster
    own = np.searchsorted(clusters, labels)
    own_size = size[own] - 1.0  # exclude the point itself; its duplicates sit at distance 0
    a = np.where(own_size > 0, mean_to[np.arange(len(x)), own] / np.maximum(own_size, 1.0), 0.0)
    other = mean_to / size[None, :]
    other[np.arange(len(x)), own] = np.inf
    b = other.min(axis=1)
    s = np.where(own_size > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float((s * w).sum() / w.sum())


def _relabel_by_size(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    ids = [c for c in np.unique(labels) if c >= 0]
    order = sorted(ids, key=lambda c: (-weights[labels == c].sum(), c))
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(int(c), -1) for c in labels], dtype=np.int64)


def cluster_vectors(x: np.ndarray, k: int | None = None, method: str = "kmeans", seed: int = 0,
                    k_min: int = 2, k_max: int | None = None, tol: float = 0.03,
                    weights: np.ndarray | None = None) -> Clustering:
    """Cluster unit rows; ``weights[i]`` (default 1) says how many identical inputs row ``i`` stands for,
    so the distinct cards of many failures cluster as the failures would. With ``k=None`` try k in
    [k_min, k_max] and keep the smallest k whose silhouette is within ``tol`` of the best: past the
    knee the curve is a noisy plateau, and the smallest k on it reads better and is steadier across
    seeds. ``k_max`` defaults to ``min(30, ceil(2 * sqrt(unique rows)))``."""
    if len(x) == 0:
        return Clustering(np.zeros(0, dtype=np.int64), 0, method, 0.0)
    uniq, inverse, counts = _unique(x, weights)
    w = counts.astype(np.float64)
    if method == "hdbscan":
        if weights is not None and not np.all(np.asarray(weights) == 1):
            raise ValueError("HDBSCAN clusters every row: give it the rows, not weights")
        return _hdbscan(x, seed)
    if method != "kmeans":
        raise ValueError(f"unknown clustering method {method!r}; choose kmeans or hdbscan")
    scores: dict[int, float] = {}
    if k is None:
        if k_max is None:
            k_max = min(30, int(np.ceil(2 * np.sqrt(len(uniq)))))
        upper = min(k_max, len(uniq) - 1)
        if upper < k_min:
            k = max(1, len(uniq))
        else:
            # Choose k on a weighted sample of unique rows when there are very many.
            pool, pool_w, tries = uniq, w, None
            if len(uniq) > _K_SAMPLE:
                pick = np.random.default_rng(seed).choice(len(uniq), _K_SAMPLE, replace=False, p=w / w.sum())
                pool, pool_w, tries = uniq[pick], w[pick], 3  # a big sample is steady with fewer restarts
            for kk in range(k_min, upper + 1):
                labels_kk, _ = spherical_kmeans(pool, kk, seed=seed, weights=pool_w, n_init=tries)
                scores[kk] = round(silhouette(pool, labels_kk, pool_w, seed=seed), 4)
            best = max(scores.values())
            k = min(kk for kk, s in scores.items() if s >= best - tol)
    labels_u, centroids = spherical_kmeans(uniq, k, seed=seed, weights=w)
    score = silhouette(uniq, labels_u, w, seed=seed)
    ranked = _relabel_by_size(labels_u, w)
    order = [int(np.flatnonzero(ranked == c)[0]) for c in range(ranked.max() + 1)]
    centroids = centroids[[int(labels_u[i]) for i in order]]
    return Clustering(ranked[inverse], int(ranked.max() + 1), "kmeans", round(score, 4), scores, centroids)


def _hdbscan(x: np.ndarray, seed: int) -> Clustering:
    try:
        from sklearn.cluster import HDBSCAN
    except ImportError as exc:  # scikit-learn is only in the test extra
        raise RuntimeError("HDBSCAN needs scikit-learn>=1.3 (pip install scikit-learn)") from exc
    raw = HDBSCAN(min_cluster_size=max(2, min(10, len(x) // 50 or 2)), metric="euclidean", copy=True).fit_predict(x)
    ranked = _relabel_by_size(raw, np.ones(len(x)))
    k = int(ranked.max() + 1) if (ranked >= 0).any() else 0
    kept = ranked >= 0
    score = silhouette(x[kept], ranked[kept], seed=seed) if k > 1 else 0.0
    centroids = np.stack([x[ranked == c].mean(axis=0) for c in range(k)]) if k else None
    return Clustering(ranked, k, "hdbscan", round(score, 4), {}, centroids)
