"""The randomized SVD behind the coverage plot's projection, against numpy's exact decompositions."""

from __future__ import annotations

import numpy as np
import pytest

from clawloop_synth.coverage import plots
from clawloop_synth.coverage.spectrum import top_singular


def _data(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * (1.0 / (1.0 + np.arange(d)) ** 1.2)


def test_top_singular_values_and_vectors_match_the_exact_svd() -> None:
    x = _data(400, 150)
    s, vt = top_singular(x, 5, seed=1)
    _, s_exact, vt_exact = np.linalg.svd(x, full_matrices=False)
    assert np.allclose(s, s_exact[:5], rtol=1e-6)
    assert np.all(s <= s_exact[:5] * (1 + 1e-12))  # Ritz values: never above the true ones
    assert np.allclose(np.abs(np.sum(vt * vt_exact[:5], axis=1)), 1.0, atol=1e-6)


def test_top_singular_is_seeded_and_falls_back_to_the_thin_svd_when_small() -> None:
    x = _data(30, 8)
    assert np.array_equal(top_singular(x, 2, seed=3)[0], top_singular(x, 2, seed=3)[0])
    s, _ = top_singular(x, 3)  # 3 + 10 oversampling >= min(n, d): exact
    assert np.allclose(s, np.linalg.svd(x, compute_uv=False)[:3])


@pytest.mark.parametrize("sample", [10_000, 500])
def test_projection_axes_are_the_real_sets_principal_directions(monkeypatch: pytest.MonkeyPatch, sample: int) -> None:
    monkeypatch.setattr(plots, "PCA_SAMPLE", sample)
    real, synth = _data(2000, 60, seed=4), _data(50, 60, seed=5)
    pr, ps = plots.project_2d(real, synth)
    mean = real.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov((real - mean).T))
    axes = vecs[:, ::-1][:, :2]
    exact_r, exact_s = (real - mean) @ axes, (synth - mean) @ axes
    # Same directions up to sign; from a sample of 500 rows, close to them.
    tol = 1e-6 if sample > len(real) else 0.05
    for got, want in ((pr, exact_r), (ps, exact_s)):
        for col in range(2):
            cos = abs(got[:, col] @ want[:, col]) / (np.linalg.norm(got[:, col]) * np.linalg.norm(want[:, col]))
            assert cos == pytest.approx(1.0, abs=tol)
