"""Coverage metrics against the reference prdc package and against brute force."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from clawloop_synth.coverage.blocked import cross_pass, self_radii
from clawloop_synth.coverage.diversity import vendi, vendi_score, vendi_score_dense
from clawloop_synth.coverage.geometry import pair_sq_dists, pairs_within
from clawloop_synth.coverage.metrics import (
    CoverageConfig,
    evaluate,
    novelty,
    prdc_metrics,
)
from clawloop_synth.index import IndexConfig, Metric, VectorIndex, normalize

prdc = pytest.importorskip("prdc")
KEYS = ("precision", "recall", "density", "coverage")


def reference(real: np.ndarray, synth: np.ndarray, k: int) -> dict[str, float]:
    # float64 copies of the float32 values we index, so both sides judge the same points exactly.
    with contextlib.redirect_stdout(io.StringIO()):
        out = prdc.compute_prdc(real.astype(np.float64), synth.astype(np.float64), nearest_k=k)
    return {key: float(out[key]) for key in KEYS}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prdc_agrees_with_reference_on_continuous_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((700, 24)).astype(np.float32)
    synth = (1.2 * rng.standard_normal((500, 24)) + 0.3).astype(np.float32)
    ours = prdc_metrics(real, synth, k=5, metric="l2")
    ref = reference(real, synth, 5)
    for key in KEYS:
        assert ours[key] == pytest.approx(ref[key], abs=1e-6), key
    assert 0.2 < ref["precision"] < 1.0 and 0 < ref["coverage"] < 1.0  # a non-trivial case


def test_prdc_agrees_with_reference_for_cosine_embeddings() -> None:
    rng = np.random.default_rng(3)
    real = rng.standard_normal((400, 16)).astype(np.float32)
    synth = (rng.standard_normal((450, 16)) + 0.4).astype(np.float32)
    ours = prdc_metrics(real, synth, k=5, metric="cosine")
    ref = reference(normalize(real), normalize(synth), 5)
    for key in KEYS:
        assert ours[key] == pytest.approx(ref[key], abs=1e-6), key


def test_repeated_points_count_as_inside() -> None:
    rng = np.random.default_rng(4)
    base = rng.standard_normal((30, 8)).astype(np.float32)
    real = np.repeat(base, 7, axis=0)  # every text 7 times: all radii are 0 at k=5
    synth = np.repeat(base[:20], 7, axis=0)
    ours = prdc_metrics(real, synth, k=5, metric="l2")
    assert ours["precision"] == 1.0 and ours["recall"] == pytest.approx(20 / 30)
    assert ours["coverage"] == pytest.approx(20 / 30)
    assert ours["density"] == pytest.approx(7 / 5)
    # The reference's strict "<" zeroes them: the reason for "<=".
    assert reference(real, synth, 5)["precision"] == 0.0


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_approximate_path_stays_close_to_exact_on_clustered_data(metric: Metric) -> None:
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((40, 32)) * (1.0 if metric == "cosine" else 3.0)
    real = (centres[rng.integers(0, 40, 3000)] + 0.35 * rng.standard_normal((3000, 32))).astype(np.float32)
    synth = (centres[rng.integers(0, 30, 2000)] + 0.35 * rng.standard_normal((2000, 32))).astype(np.float32)
    exact = evaluate(real, synth, CoverageConfig(k=5, metric=metric))
    approx = evaluate(real, synth, CoverageConfig(k=5, metric=metric, index=IndexConfig(exact_below=1000)))
    assert exact.exact and not approx.exact
    for key in KEYS:
        assert getattr(approx, key) == pytest.approx(getattr(exact, key), abs=0.03), key
    assert np.mean(np.abs(approx.novelty - exact.novelty) < 1e-6) > 0.95


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_pairs_within_is_a_range_search_with_per_centre_radii(metric: Metric) -> None:
    rng = np.random.default_rng(9)
    base = rng.standard_normal((3000, 16)).astype(np.float32)
    index = VectorIndex.build(base, metric=metric, config=IndexConfig(exact_below=10**9))
    centres = index.prepare(rng.standard_normal((60, 16)))
    x64, c64 = index.vectors.astype(np.float64), centres.astype(np.float64)
    d2 = ((c64[:, None, :] - x64[None]) ** 2).sum(-1)
    radii2 = np.quantile(d2, rng.uniform(0.0, 0.05, len(centres)), axis=1).diagonal().copy()
    if metric == "cosine":
        radii2[:3] = [2.5, 3.9, 0.0]  # caps wider than a hemisphere are scanned whole
    radii2[3] = np.nan  # no ball
    qi, ids = pairs_within(index, centres, radii2)
    want = np.argwhere(d2 <= np.nan_to_num(radii2, nan=-1.0)[:, None])
    assert sorted(zip(qi.tolist(), ids.tolist(), strict=True)) == [tuple(pair) for pair in want.tolist()]
    assert len(want) > 100


def test_recall_counts_synthetic_balls_holding_more_real_items_than_the_candidates() -> None:
    # A few synthetic points far from each other amid dense real data: each synthetic ball holds
    # hundreds of real items, far more than the candidates searched per synthetic item.
    rng = np.random.default_rng(10)
    real = rng.standard_normal((3000, 8)).astype(np.float32)
    synth = (rng.standard_normal((40, 8)) * 1.5).astype(np.float32)
    exact = evaluate(real, synth, CoverageConfig(k=5, metric="l2", holdout=0.0))
    approx = evaluate(real, synth, CoverageConfig(k=5, metric="l2", holdout=0.0, candidates=16,
                                                  index=IndexConfig(exact_below=20, nprobe=10**6)))
    assert exact.exact and not approx.exact
    assert exact.recall > 0.5
    # Every list probed, so the range search behind recall is exact; balls around real items are
    # still read off 16 candidates, which is why only recall is compared exactly.
    assert approx.recall == pytest.approx(exact.recall, abs=1e-12)
    assert approx.precision == pytest.approx(exact.precision, abs=0.05)


def test_novelty_is_the_distance_to_the_nearest_real_item() -> None:
    rng = np.random.default_rng(6)
    real, synth = rng.standard_normal((300, 12)), rng.standard_normal((80, 12))
    got = novelty(real, synth, metric="l2")
    brute = np.sqrt(((synth[:, None, :] - real.astype(np.float32)[None, :, :]) ** 2).sum(-1)).min(axis=1)
    assert np.allclose(got, brute, atol=1e-5)
    cos = novelty(real, synth, metric="cosine")
    brute_cos = 1.0 - (normalize(synth) @ normalize(real).T).max(axis=1)
    assert np.allclose(cos, brute_cos, atol=1e-5)


@pytest.mark.parametrize("shape", [(40, 10), (8, 30)])
def test_vendi_dual_form_matches_the_dense_definition(shape: tuple[int, int]) -> None:
    x = np.random.default_rng(7).standard_normal(shape)
    assert vendi_score(x) == pytest.approx(vendi_score_dense(x), rel=1e-9)


def test_vendi_counts_distinct_items() -> None:
    assert vendi_score(np.ones((50, 6))) == pytest.approx(1.0)
    assert vendi_score(np.eye(6)) == pytest.approx(6.0)
    assert vendi_score(np.vstack([np.eye(6)] * 3)) == pytest.approx(6.0)


def _decaying(n: int, d: int, seed: int) -> np.ndarray:
    """Rows whose spectrum decays like that of text embeddings: a few strong directions, a noise floor."""
    rng = np.random.default_rng(seed)
    scales = 1.0 / (1.0 + np.arange(d)) ** 0.9
    return rng.standard_normal((n, d)) * scales + 0.05 * rng.standard_normal((n, d))


@pytest.mark.parametrize("rank", [8, 24, 60])
def test_low_rank_vendi_brackets_the_exact_score(rank: int) -> None:
    x = _decaying(300, 120, seed=rank)
    exact = vendi_score_dense(x)
    approx = vendi(x, exact_below=0, rank=rank)
    assert not approx.exact
    assert approx.low <= exact <= approx.high
    assert approx.score == pytest.approx(exact, rel=0.25)
    # More eigenvalues, a tighter interval.
    if rank < 60:
        assert vendi(x, exact_below=0, rank=60).high - vendi(x, exact_below=0, rank=60).low < approx.high - approx.low


def test_vendi_is_exact_up_to_the_threshold_and_reports_no_bound() -> None:
    x = _decaying(50, 20, seed=3)
    v = vendi(x)
    assert v.exact and v.score == pytest.approx(vendi_score_dense(x), rel=1e-9)
    result = evaluate(x, _decaying(30, 20, seed=4), CoverageConfig(k=3))
    assert "bounds" not in result.summary()["vendi"]


def test_low_rank_vendi_of_a_low_rank_set_is_exact() -> None:
    # Rank 5 data: the top 8 eigenvalues hold the whole trace, no tail is left to bound.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 40))
    got = vendi(x, exact_below=0, rank=8)
    assert got.score == pytest.approx(vendi_score_dense(x), rel=1e-4)
    assert got.high - got.low < 1e-3 * got.score


def brute_gap(real: np.ndarray, synth: np.ndarray, held: np.ndarray, k: int, q: float) -> tuple[float, float]:
    kept = real[~held]
    d_kk = ((kept[:, None] - kept[None]) ** 2).sum(-1)
    r2 = np.sort(d_kk, axis=1)[:, k]
    sparse = r2 > np.quantile(r2, q)

    def share(points: np.ndarray) -> float:
        d = ((points[:, None] - kept[None]) ** 2).sum(-1)
        return float(np.mean(((d <= r2[None]) & sparse[None]).any(axis=1)))

    return share(synth), share(real[held])


def test_gap_filling_matches_brute_force_and_sees_sparse_regions() -> None:
    rng = np.random.default_rng(8)
    dense = rng.standard_normal((400, 6)) * 0.3
    sparse = rng.standard_normal((100, 6)) * 0.3 + 3.0 + rng.standard_normal((100, 6)) * 1.5
    real = np.vstack([dense, sparse]).astype(np.float32)
    synth = (rng.standard_normal((200, 6)) * 0.3 + 3.0 + rng.standard_normal((200, 6)) * 1.5).astype(np.float32)
    config = CoverageConfig(k=5, metric="l2", holdout=0.2, seed=3)
    result = evaluate(real, synth, config)
    held = np.zeros(len(real), dtype=bool)
    held[np.random.default_rng(3).choice(len(real), size=100, replace=False)] = True
    want_s, want_h = brute_gap(real.astype(np.float64), synth.astype(np.float64), held, 5, 0.75)
    gap = result.gap_fill
    assert gap is not None and gap.n_holdout == 100
    assert gap.synthetic_share == pytest.approx(want_s, abs=1e-9)
    assert gap.holdout_share == pytest.approx(want_h, abs=1e-9)
    assert gap.synthetic_share > gap.holdout_share  # S sits where R is thin


def test_too_few_items_is_an_error() -> None:
    with pytest.raises(ValueError, match="k=5"):
        evaluate(np.ones((4, 3)), np.ones((10, 3)), CoverageConfig(k=5))


def all_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every float64 squared distance, computed as the metrics compute one (so ties are ties)."""
    qi, bi = np.divmod(np.arange(len(a) * len(b)), len(b))
    return pair_sq_dists(a, b, qi, bi).reshape(len(a), len(b))


@pytest.mark.parametrize("block", [7, 50, 1024])
def test_self_radii_are_the_brute_force_kth_distances_over_blocks(block: int) -> None:
    rng = np.random.default_rng(9)
    base = (rng.standard_normal((120, 10)) * 3.0).astype(np.float32)
    x = np.vstack([base] + [base[:20]] * 5)  # 20 texts 6 times: radii of exactly 0 at k=5
    keep = rng.random(len(x)) > 0.3
    radii, kept = self_radii(x, 5, keep, block=block)
    d2 = all_pairs(x, x)
    np.testing.assert_array_equal(radii, np.sort(d2, axis=1)[:, 5])
    want = np.where(keep, np.sort(np.where(keep[None, :], d2, np.inf), axis=1)[:, 5], np.nan)
    np.testing.assert_array_equal(kept, want)
    assert (radii[:20] == 0).all() and (radii[20:120] > 0).all()


def test_cross_pass_over_several_blocks_matches_brute_force() -> None:
    rng = np.random.default_rng(10)
    real = rng.standard_normal((3000, 8)).astype(np.float32)
    synth = np.vstack([real[:500], rng.standard_normal((1500, 8)).astype(np.float32)])
    real_r2, _ = self_radii(real, 5)
    synth_r2, _ = self_radii(synth, 5)
    d2 = all_pairs(synth, real)  # synthetic copies of real points sit exactly on ball boundaries
    out = cross_pass(synth, real, real_r2, synth_r2)  # 3000 columns: blocks of 699 rows
    inside = d2 <= real_r2[None, :]
    np.testing.assert_array_equal(out.in_real, inside.sum(axis=1))
    np.testing.assert_array_equal(out.covered, inside.any(axis=0))
    np.testing.assert_array_equal(out.in_synth, (d2 <= synth_r2[:, None]).any(axis=0))
    np.testing.assert_allclose(out.nearest_d2, d2.min(axis=1), rtol=1e-6, atol=1e-6)


def test_share_beyond_real_radius_compares_novelty_with_the_median_radius_in_the_same_units() -> None:
    rng = np.random.default_rng(21)
    centres = rng.standard_normal((10, 12))
    real = normalize((centres[rng.integers(0, 10, 300)] + 0.2 * rng.standard_normal((300, 12))).astype(np.float32))
    far = rng.standard_normal((40, 12))  # half the tasks away from every cluster, half inside one
    near = centres[rng.integers(0, 10, 40)] + 0.2 * rng.standard_normal((40, 12))
    synth = normalize(np.vstack([far, near]).astype(np.float32))
    real, synth = real.astype(np.float64), synth.astype(np.float64)
    result = evaluate(real.astype(np.float32), synth.astype(np.float32), CoverageConfig(k=5, holdout=0.0))
    # Brute force in cosine distance (1 - cos): each real item's distance to its 5th nearest other real
    # item, each synthetic item's distance to its nearest real item.
    real_d = 1.0 - real @ real.T
    radius = np.sort(real_d, axis=1)[:, 5]  # column 0 is the item itself
    novelty_d = (1.0 - synth @ real.T).min(axis=1)
    want = float(np.mean(novelty_d > np.median(radius)))
    got = result.summary()["novelty"]["share_beyond_real_radius"]
    assert 0.0 < want < 1.0
    assert got == pytest.approx(want, abs=1.5 / len(synth))  # float32 ties at the median aside
