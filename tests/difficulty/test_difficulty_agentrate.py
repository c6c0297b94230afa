"""One agent's pass rates with IRT-centred Beta priors, against pooling heterogeneous agents."""

import numpy as np
import pytest
from scipy.special import expit

from clawloop_synth.difficulty import (
    Observations,
    agent_pass_rates,
    fit_irt,
    logit_normal_beta,
    median_agent,
    smooth_pass_rates,
)
from clawloop_synth.errors import InputError
from tests.difficulty.simulate import simulate_1pl


def test_logit_normal_beta_matches_mean_and_variance() -> None:
    rng = np.random.default_rng(0)
    mu, sd = np.array([-2.0, 0.0, 1.5]), np.array([0.5, 1.0, 2.0])
    a, b = logit_normal_beta(mu, sd)
    draws = expit(mu + sd * rng.standard_normal((200_000, 3)))
    assert a / (a + b) == pytest.approx(draws.mean(0), abs=3e-3)
    assert a * b / ((a + b) ** 2 * (a + b + 1)) == pytest.approx(draws.var(0), rel=0.03)
    tight_a, tight_b = logit_normal_beta(np.array([0.0]), np.array([1e-4]))
    assert tight_a[0] + tight_b[0] > 1e5  # no uncertainty: a very concentrated Beta at sigmoid(mu)


@pytest.fixture(scope="module")
def population() -> tuple[Observations, np.ndarray, np.ndarray]:
    """8 agents of very unequal skill, 300 tasks, 2 attempts per cell, a third of cells missing."""
    ability = np.array([-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.5, 4.0])
    difficulty = np.random.default_rng(1).normal(0.0, 1.2, 300)
    return simulate_1pl(ability, difficulty, missing=0.33, seed=2, attempts=2), ability, difficulty


def test_agent_rates_track_the_agents_true_rates_where_pooling_cannot(
        population: tuple[Observations, np.ndarray, np.ndarray]) -> None:
    obs, ability, difficulty = population
    fit = fit_irt(obs)
    agent = median_agent(fit)
    assert agent == "agent003"  # abilities -0.5 and 0.0 are the middle two: the lower one
    rates, how = agent_pass_rates(obs, agent, reference=fit)
    assert how.method == "irt" and how.other_agents == 7 and how.tau < 1.0  # 1PL data; weakly identified
    truth = expit(ability[3] - difficulty)
    own = smooth_pass_rates(Observations(obs.agents, obs.tasks, obs.agent_index[obs.agent_index == 3],
                                         obs.task_index[obs.agent_index == 3],
                                         obs.reward[obs.agent_index == 3]))
    rmse = {name: float(np.sqrt(np.mean((mean - truth) ** 2)))
            for name, mean in (("irt", rates.mean), ("own beta", own.mean))}
    assert rmse["irt"] < 0.85 * rmse["own beta"]  # measured 0.148 vs 0.189
    untried = rates.trials == 0
    assert untried.sum() > 50
    assert np.corrcoef(rates.mean[untried], truth[untried])[0, 1] > 0.6  # untried tasks still differ (0.75)
    assert np.ptp(rates.learnability) > 0.1
    # The posterior is Beta(prior + counts), whatever the prior.
    assert rates.alpha == pytest.approx(rates.prior_alpha + rates.successes)
    assert rates.beta == pytest.approx(rates.prior_beta + rates.trials - rates.successes)


def test_one_agent_alone_falls_back_to_a_beta_prior_and_unknown_agents_fail() -> None:
    obs = Observations.from_arrays(["a"] * 6, ["t1", "t1", "t2", "t2", "t3", "t3"], [1, 0, 1, 1, 0, 0])
    rates, how = agent_pass_rates(obs, "a")
    assert how.method == "beta" and rates.task_prior is None
    with pytest.raises(InputError, match="no scored rollouts by agent"):
        agent_pass_rates(obs, "b")
