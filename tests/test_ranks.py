"""The numpy rank helpers against scipy.stats, ties and constant inputs included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from clawloop_synth.ranks import average_ranks, kendall_tau, spearman


@pytest.mark.parametrize("seed", range(5))
def test_ranks_and_correlations_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 400))
    a = rng.integers(0, 12, n).astype(float)  # many ties
    b = a * rng.choice([-1.0, 1.0]) + rng.normal(0, 3, n).round()
    assert np.array_equal(average_ranks(a), stats.rankdata(a, method="average"))
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)
    assert kendall_tau(a, b, block=17) == pytest.approx(stats.kendalltau(a, b)[0], abs=1e-12)


def test_constant_side_gives_nan() -> None:
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3])) and math.isnan(kendall_tau([1, 2, 3], [4, 4, 4]))
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0 and spearman([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
