import numpy as np
import pytest

from clawloop_synth.difficulty import Observations, PassRates, fit_beta_prior, smooth_pass_rates


def _simulate(alpha: float, beta: float, n_tasks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    trials = rng.integers(5, 31, n_tasks).astype(float)
    successes = rng.binomial(trials.astype(int), rng.beta(alpha, beta, n_tasks)).astype(float)
    return successes, trials


@pytest.mark.parametrize(("alpha", "beta"), [(2.0, 5.0), (0.6, 0.9), (8.0, 3.0)])
def test_mle_recovers_known_prior(alpha: float, beta: float) -> None:
    successes, trials = _simulate(alpha, beta, 3000, seed=1)
    prior = fit_beta_prior(successes, trials)
    assert prior.method == "mle"
    assert prior.alpha == pytest.approx(alpha, rel=0.2)
    assert prior.beta == pytest.approx(beta, rel=0.2)
    assert prior.mean == pytest.approx(alpha / (alpha + beta), abs=0.02)


def test_moments_recovers_known_prior_roughly() -> None:
    successes, trials = _simulate(2.0, 5.0, 3000, seed=2)
    prior = fit_beta_prior(successes, trials, method="moments")
    assert prior.alpha == pytest.approx(2.0, rel=0.3)
    assert prior.beta == pytest.approx(5.0, rel=0.3)


def test_posterior_mean_variance_and_learnability() -> None:
    successes, trials = _simulate(2.0, 5.0, 400, seed=3)
    rates = PassRates.from_counts([f"t{i}" for i in range(400)], successes, trials)
    a, b = rates.prior.alpha + successes, rates.prior.beta + trials - successes
    assert np.allclose(rates.mean, a / (a + b))
    # E[p(1-p)] = E[p] - E[p^2] = E[p] - (Var[p] + E[p]^2)
    assert np.allclose(rates.learnability, rates.mean - (rates.var + rates.mean**2))
    draws = np.random.default_rng(0).beta(a[0], b[0], 200_000)
    assert rates.learnability[0] == pytest.approx(np.mean(draws * (1 - draws)), rel=0.01)
    # shrinkage: the posterior mean lies between the raw rate and the prior mean
    raw = successes / trials
    lo, hi = np.minimum(raw, rates.prior.mean), np.maximum(raw, rates.prior.mean)
    assert np.all((rates.mean >= lo - 1e-12) & (rates.mean <= hi + 1e-12))


def test_unrated_task_gets_the_prior_and_degenerate_data_stay_finite() -> None:
    obs = Observations.from_arrays(["a", "b", "a", "b"], ["t1", "t1", "t2", "t2"], [1, 1, 0, 1],
                                   tasks=["t0", "t1", "t2"])
    rates = smooth_pass_rates(obs)
    assert rates.mean[0] == pytest.approx(rates.prior.mean)
    single = fit_beta_prior(np.array([1.0, 0.0, 1.0]), np.ones(3))  # spread not identifiable
    assert single.method == "moments" and single.concentration == pytest.approx(2.0)
    none = fit_beta_prior(np.zeros(2), np.zeros(2))
    assert (none.alpha, none.beta, none.method) == (1.0, 1.0, "default")
    all_fail = fit_beta_prior(np.zeros(50), np.full(50, 10.0))
    assert np.isfinite(all_fail.alpha) and all_fail.mean < 0.05
