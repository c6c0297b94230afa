import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import spearmanr

from clawloop_synth.difficulty import IRTConfig, Observations, fit_irt
from clawloop_synth.difficulty._irt import _loss_and_grad
from clawloop_synth.errors import InputError
from tests.difficulty.simulate import simulate_1pl


@pytest.fixture(scope="module")
def truth() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20)
    return rng.normal(0.0, 1.0, 50), rng.normal(0.0, 1.5, 1000)


def test_recovers_known_difficulties_50_agents_1000_tasks_30pct_missing(
        truth: tuple[np.ndarray, np.ndarray]) -> None:
    ability, difficulty = truth
    obs = simulate_1pl(ability, difficulty, missing=0.3, seed=21)
    assert len(obs) == pytest.approx(0.7 * 50 * 1000, rel=0.02)
    fit = fit_irt(obs)
    assert fit.converged
    order = [int(t.removeprefix("task")) for t in fit.tasks]
    rho_b = spearmanr(fit.difficulty, difficulty[order])[0]
    rho_theta = spearmanr(fit.ability, ability[[int(a.removeprefix("agent")) for a in fit.agents]])[0]
    assert rho_b >= 0.95
    assert rho_theta >= 0.95
    assert abs(fit.ability.mean()) < 1e-9  # identified by centring the abilities
    # the Hessian-diagonal standard errors give roughly nominal 95% intervals around the truth
    shifted = difficulty[order] - ability.mean()
    coverage = np.mean(np.abs(fit.difficulty - shifted) < 1.96 * fit.difficulty_se)
    assert 0.88 <= coverage <= 0.99


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    rows, cols = rng.integers(0, 4, 40), rng.integers(0, 7, 40)
    n = rng.integers(1, 4, 40).astype(float)
    k = np.floor(rng.random(40) * (n + 1))
    x = rng.normal(size=11)

    def loss(p: np.ndarray) -> float:
        return _loss_and_grad(p, 4, 7, rows, cols, k, n, 0.3, 0.2)[0]

    analytic = _loss_and_grad(x, 4, 7, rows, cols, k, n, 0.3, 0.2)[1]
    assert np.allclose(analytic, approx_fprime(x, loss, 1e-6), atol=1e-4)


def test_extreme_tasks_stay_finite_and_ordered() -> None:
    agents = [f"a{i}" for i in range(6)]
    records = [(a, "easy", 1.0) for a in agents] + [(a, "hard", 0.0) for a in agents]
    records += [(a, "mid", float(i % 2)) for i, a in enumerate(agents)]
    fit = fit_irt(Observations.from_records(records, tasks=["easy", "mid", "hard", "unseen"]))
    d = dict(zip(fit.tasks, fit.difficulty, strict=True))
    assert np.all(np.isfinite(fit.difficulty))
    assert d["easy"] < d["mid"] < d["hard"]
    assert fit.rated.tolist() == [True, True, True, False]
    se = dict(zip(fit.tasks, fit.difficulty_se, strict=True))
    assert se["unseen"] > se["mid"]  # only the prior speaks for an unseen task
    assert 0.0 < fit.probability("a0", "mid") < 1.0


def test_centring_difficulties_and_bad_config() -> None:
    obs = Observations.from_records([("a", "t", 1.0), ("b", "t", 0.0), ("a", "u", 0.0)])
    fit = fit_irt(obs, IRTConfig(centre="difficulty"))
    assert abs(fit.difficulty.mean()) < 1e-9
    with pytest.raises(InputError):
        fit_irt(obs, IRTConfig(l2_ability=0.0))
    with pytest.raises(InputError):
        fit_irt(Observations.from_records([]))
