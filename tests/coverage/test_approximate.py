"""The approximate ball figures: radii searched only where a test needs them, shares from samples."""

from __future__ import annotations

import numpy as np
import pytest

from clawloop_synth.coverage import approximate
from clawloop_synth.coverage.approximate import ball_figures, radii
from clawloop_synth.coverage.metrics import CoverageConfig, evaluate
from clawloop_synth.index import IndexConfig, VectorIndex

KEYS = ("precision", "recall", "density", "coverage")


def clustered(n_real: int, n_synth: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, 32))
    real = (centres[rng.integers(0, 40, n_real)] + 0.35 * rng.standard_normal((n_real, 32))).astype(np.float32)
    synth = (centres[rng.integers(0, 30, n_synth)] + 0.35 * rng.standard_normal((n_synth, 32))).astype(np.float32)
    return real, synth


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_own_list_bound_is_never_below_the_searched_radius(metric: str) -> None:
    real, _ = clustered(3000, 10)
    index = VectorIndex.build(real, metric=metric, config=IndexConfig(exact_below=1000))  # type: ignore[arg-type]
    keep = np.random.default_rng(1).random(len(real)) > 0.2
    band = 1e-4
    for mask in (None, keep):
        bound = index.cells().own_list_kth(5, mask)
        found = radii(index, 5, 16, keep=mask)
        rows = np.flatnonzero(np.isfinite(found) & (mask if mask is not None else True))
        assert len(rows) > 2000
        assert np.all(found[rows] <= bound[rows] + band)
        # A bound, not a copy: most rows' own list misses some of their neighbours.
        assert np.mean(found[rows] < bound[rows] - band) > 0.3


def test_pruned_radii_give_the_figures_of_searching_every_radius(monkeypatch: pytest.MonkeyPatch) -> None:
    real, synth = clustered(4000, 1000)
    real_index = VectorIndex.build(real, config=IndexConfig(exact_below=1000), queries=synth)
    synth_index = VectorIndex.build(synth, config=IndexConfig(exact_below=1000))
    held = np.zeros(len(real), dtype=bool)
    held[np.random.default_rng(2).choice(len(real), 800, replace=False)] = True
    monkeypatch.setattr(approximate, "SAMPLE", 500)  # the bound matters once the radii are not all sampled
    pruned = ball_figures(real_index, synth_index, held, 5, 64, 0.75, np.random.default_rng(0))
    cells = real_index.cells()
    monkeypatch.setattr(cells, "own_list_kth", lambda k, keep=None: np.full(len(real), np.inf))
    full = ball_figures(real_index, synth_index, held, 5, 64, 0.75, np.random.default_rng(0))
    assert pruned.searched < full.searched
    for name in ("in_real", "covered", "in_synth", "nearest", "s_gap", "h_gap", "real_r2"):
        assert np.array_equal(getattr(pruned, name), getattr(full, name), equal_nan=True), name
    assert pruned.cut == full.cut and pruned.n_sparse == full.n_sparse
    assert pruned.in_real.sum() > 0 and pruned.s_gap.any() and pruned.h_gap.any()


def test_sampled_shares_stay_within_their_stated_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real, synth = clustered(6000, 1500, seed=9)
    config = CoverageConfig(k=5, index=IndexConfig(exact_below=1000))
    full = evaluate(real, synth, config)
    monkeypatch.setattr(approximate, "SAMPLE", 800)
    sampled = evaluate(real, synth, config)
    for key in KEYS:  # the ball figures themselves are never sampled
        assert getattr(sampled, key) == getattr(full, key), key
    gap, want = sampled.gap_fill, full.gap_fill
    assert gap is not None and want is not None and gap.estimate is not None
    assert gap.estimate["holdout_rows"] == 800 and gap.estimate["radius_rows"] == 800
    assert abs(gap.holdout_share - want.holdout_share) <= 4 * gap.estimate["holdout_share_se"]
    assert gap.sparse_radius == pytest.approx(want.sparse_radius, rel=0.1)
    assert len(full.real_radii) == 6000 and len(sampled.real_radii) == 800
    assert np.median(sampled.real_radii) == pytest.approx(np.median(full.real_radii), rel=0.1)
