"""VectorIndex: exact below the threshold, calibrated IVF above it, keys, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clawloop_synth.index import IndexConfig, VectorIndex, normalize, recall_at_k


def clustered(n: int, d: int = 32, topics: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((topics, d))
    x = centres[rng.integers(0, topics, n)] + 0.3 * rng.standard_normal((n, d))
    return x.astype(np.float32)


def test_exact_index_maps_ids_to_keys_and_normalizes() -> None:
    x = clustered(200)
    keys = [f"trace-{i}" for i in range(len(x))]
    index = VectorIndex.build(x, keys)
    assert index.exact and len(index) == 200
    scores, found = index.search(x[:3] * 7.0, 1)  # scale must not matter for cosine
    assert found[:, 0].tolist() == ["trace-0", "trace-1", "trace-2"]
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)


def test_more_neighbours_than_points_gives_none_keys() -> None:
    index = VectorIndex.build(clustered(3), ["a", "b", "c"])
    _, keys = index.search(clustered(1, seed=5), 5)
    assert sorted(k for k in keys[0].tolist() if k is not None) == ["a", "b", "c"]
    assert keys[0].tolist()[3:] == [None, None]


def test_ivf_above_threshold_reaches_its_measured_recall() -> None:
    x = clustered(3000)
    index = VectorIndex.build(x, config=IndexConfig(exact_below=1000, target_recall=0.95))
    assert not index.exact and index.nprobe >= 1
    assert index.measured_recall is not None and index.measured_recall >= 0.95
    # Recall on queries it was not calibrated on, against exact search.
    queries = normalize(clustered(300, seed=7))
    flat = VectorIndex.build(x, config=IndexConfig(exact_below=10**9))
    exact, _ = flat.search_ids(queries, 10)
    approx, _ = index.search_ids(queries, 10)
    assert recall_at_k(exact, approx, "cosine") >= 0.9


def test_outside_queries_get_their_own_calibrated_probe_count() -> None:
    # Own points come from 20 topics; the outside queries mostly from topics the index barely holds,
    # whose neighbours are spread over many lists: they need more probes than the self-join.
    x = clustered(4000, topics=20)
    rng = np.random.default_rng(3)
    outside = (np.random.default_rng(99).standard_normal((20, 32))[rng.integers(0, 20, 400)]
               + 1.5 * rng.standard_normal((400, 32))).astype(np.float32)
    config = IndexConfig(exact_below=1000, target_recall=0.95)
    index = VectorIndex.build(x, config=config, queries=outside)
    assert not index.exact
    assert index.measured_recall is not None and index.measured_recall >= 0.95
    assert index.measured_recall_cross is not None and index.measured_recall_cross >= 0.95
    assert index.nprobe_cross >= index.nprobe
    # Each count reaches the target on fresh queries of its kind, against exact search.
    flat = VectorIndex.build(x, config=IndexConfig(exact_below=10**9))
    fresh = (np.random.default_rng(99).standard_normal((20, 32))[rng.integers(0, 20, 300)]
             + 1.5 * rng.standard_normal((300, 32))).astype(np.float32)
    exact, _ = flat.search_ids(fresh, 10)
    approx, _ = index.search_ids(fresh, 10)
    assert recall_at_k(exact, approx, "cosine") >= 0.9
    own_exact, _ = flat.search_ids(x[:300], 11)
    own_approx, _ = index.search_ids(x[:300], 11, own=True)
    assert recall_at_k(own_exact[:, 1:], own_approx[:, 1:], "cosine") >= 0.9


def test_save_and_load_give_the_same_answers(tmp_path: Path) -> None:
    x = clustered(2500)
    keys = [f"task-{i}" for i in range(len(x))]
    index = VectorIndex.build(x, keys, config=IndexConfig(exact_below=1000))
    index.save(tmp_path / "idx")
    again = VectorIndex.load(tmp_path / "idx")
    assert again.describe() == index.describe()
    s1, k1 = index.search(x[:50], 4)
    s2, k2 = again.search(x[:50], 4)
    assert np.array_equal(s1, s2) and k1.tolist() == k2.tolist()


def test_l2_metric_keeps_raw_vectors() -> None:
    x = clustered(100) * 3.0
    index = VectorIndex.build(x, metric="l2")
    scores, ids = index.search_ids(x[:2], 1)
    assert ids[:, 0].tolist() == [0, 1] and np.allclose(scores[:, 0], 0.0, atol=1e-3)
    assert np.allclose(index.vectors, x)


def _exact_own(x: np.ndarray, rows: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    base = normalize(x) if metric == "cosine" else np.ascontiguousarray(x, dtype=np.float32)
    flat = faiss.IndexFlatIP(base.shape[1]) if metric == "cosine" else faiss.IndexFlatL2(base.shape[1])
    flat.add(base)
    return flat.search(base[rows], k)


def test_self_join_by_list_reaches_its_measured_recall() -> None:
    x = clustered(6000, seed=3)
    index = VectorIndex.build(x, config=IndexConfig(exact_below=1000, target_recall=0.95))
    assert index.cell_probes is not None and index.measured_recall_cells is not None
    assert index.measured_recall_cells >= 0.95
    rows = np.random.default_rng(4).choice(len(x), 500, replace=False)
    exact, _ = _exact_own(x, rows, 11, "cosine")
    scores, ids = index.search_own(rows, 11)
    assert recall_at_k(exact[:, 1:], scores[:, 1:], "cosine") >= 0.93
    assert (ids[:, 0] == rows).mean() > 0.99  # each point finds itself first
    # Inside its probed lists the search is exact: the recall read off the neighbours' lists is the
    # recall the search gets.
    _, truth = _exact_own(x, rows, 11, "cosine")
    cells = index.cells()
    predicted = cells.recall(cells.list_of[rows], truth[:, 1:], index.cell_probes)
    found = np.mean([len(set(truth[i, 1:]) & set(ids[i])) / 10 for i in range(len(rows))])
    assert abs(predicted - found) < 0.01


def test_self_join_with_every_list_probed_is_exact_for_l2() -> None:
    x = clustered(3000, seed=6) * 3.0
    index = VectorIndex.build(x, metric="l2", config=IndexConfig(exact_below=1000))
    index.cell_probes = int(index.index.nlist)
    rows = np.arange(0, 3000, 7)
    exact, _ = _exact_own(x, rows, 8, "l2")
    d2, ids = index.search_own(rows, 8)
    assert np.allclose(d2, exact, rtol=1e-4, atol=1e-3)
    assert (np.diff(d2, axis=1) >= 0).all()  # ascending, as faiss gives l2


def test_self_join_probes_survive_save_and_load(tmp_path: Path) -> None:
    index = VectorIndex.build(clustered(3000), config=IndexConfig(exact_below=1000))
    index.save(tmp_path / "idx")
    again = VectorIndex.load(tmp_path / "idx")
    assert again.cell_probes == index.cell_probes
    rows = np.arange(0, 3000, 11)
    assert np.array_equal(again.search_own(rows, 5)[1], index.search_own(rows, 5)[1])


def test_outside_search_by_list_finds_what_faiss_probing_finds() -> None:
    for metric in ("cosine", "l2"):
        x = clustered(5000, seed=7) * (1.0 if metric == "cosine" else 2.0)
        index = VectorIndex.build(x, metric=metric, config=IndexConfig(exact_below=1000))  # type: ignore[arg-type]
        queries = index.prepare(clustered(700, seed=8))
        for k in (1, 10, 300):  # 300: more than some lists hold
            want_scores, want_ids = index._search(queries, k, index.nprobe_cross)  # faiss's own IVF scan
            scores, ids = index.search_prepared(queries, k)
            found = want_ids >= 0  # faiss marks a missing result with id -1 and score -+FLT_MAX
            assert np.array_equal(ids >= 0, found), (metric, k)
            assert np.allclose(scores[found], want_scores[found], rtol=1e-4, atol=1e-4), (metric, k)
            same = np.mean([len(set(a) & set(b)) / max(1, (b >= 0).sum())
                            for a, b in zip(ids, want_ids, strict=True)])
            assert same > 0.995, (metric, k)
            sign = -1.0 if metric == "cosine" else 1.0  # best first: descending products, ascending distances
            assert all((np.diff(sign * row[:n]) >= -1e-6).all()
                       for row, n in zip(scores, found.sum(axis=1), strict=True))
