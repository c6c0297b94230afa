"""Pass rates of one agent (the agent being trained), each task's Beta prior centred on the 1PL IRT prediction.

Why not one beta prior over all agents' attempts: a curriculum needs the pass rate of the agent it
trains. Summed over agents of very different skill, a task's successes vary *less* than one binomial
would (a sum of binomials with unequal rates is under-dispersed), so the beta-binomial's maximum
likelihood runs off to an infinite concentration and every task gets the same posterior. One agent's
own attempts are too few (k per task) for a per-task estimate, and a beta prior fitted to them alone
pulls every task to that agent's mean rate.

Model, for the agent ``a`` and task ``j`` (``k_j`` successes in ``n_j`` of the agent's attempts)::

    logit p_j ~ Normal(theta_a - b_j, s_j^2 + tau^2)        k_j ~ Binomial(n_j, p_j)

- ``b_j`` and its standard error come from the 1PL fitted on every *other* agent's attempts
  (leave-agent-out: the agent's own successes are counted once, in the likelihood, not again in the
  prior); ``theta_a`` and its standard error from the agent's attempts with those ``b_j`` held fixed;
  ``s_j^2 = se(b_j)^2 + se(theta_a)^2``. A task no other agent tried keeps the IRT prior N(0, 1/l2) on
  ``b_j`` (a wide prior); a task nobody tried can be given a predicted difficulty instead.
- ``tau`` is how far this agent's tasks stray from the 1PL (agent x task interaction); it is fitted by
  maximum marginal (beta-binomial) likelihood on the agent's own counts: empirical Bayes as before,
  but around each task's IRT prediction rather than one shared mean.

The logit-normal prior is replaced by the Beta with the same mean and variance (Gauss-Hermite
quadrature), so each posterior is still ``Beta(alpha_j + k_j, beta_j + n_j - k_j)``: tasks the agent
has tried often keep their own rate, tasks it has tried little or never differ by their IRT difficulty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import betaln, expit

from clawloop_synth.difficulty._irt import IRTConfig, IRTFit, fit_irt
from clawloop_synth.difficulty._observations import Observations
from clawloop_synth.difficulty._passrate import BetaPrior, PassRates, fit_beta_prior
from clawloop_synth.errors import InputError

__all__ = ["AgentPrior", "agent_pass_rates", "logit_normal_beta", "median_agent"]

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)  # probabilists' Hermite: N(0, 1) quadrature
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
_TAU_MAX = 5.0  # logits; beyond it the prior is flat on (0, 1) anyway
_CONC_MIN, _CONC_MAX = 1e-2, 1e6


def logit_normal_beta(mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beta (alpha, beta) with the mean and variance of sigmoid(X), X ~ Normal(mu, sd^2), elementwise."""
    mu, sd = np.broadcast_arrays(np.asarray(mu, dtype=np.float64), np.asarray(sd, dtype=np.float64))
    p = expit(mu[..., None] + sd[..., None] * _NODES)
    mean = np.clip(p @ _WEIGHTS, 1e-6, 1.0 - 1e-6)
    var = np.maximum((p * p) @ _WEIGHTS - mean * mean, 0.0)
    bound = mean * (1.0 - mean)
    concentration = np.clip(bound / np.maximum(var, bound / _CONC_MAX) - 1.0, _CONC_MIN, _CONC_MAX)
    return mean * concentration, (1.0 - mean) * concentration


def median_agent(fit: IRTFit) -> str:
    """The agent of median fitted ability (the lower of the two middle ones for an even count)."""
    order = sorted(range(len(fit.agents)), key=lambda i: (float(fit.ability[i]), fit.agents[i]))
    return fit.agents[order[(len(order) - 1) // 2]]


@dataclass(frozen=True)
class AgentPrior:
    """How the per-task priors of one agent's pass rates were built (see the module docstring)."""

    agent: str
    method: str  # "irt" (IRT-centred, the model above) or "beta" (one beta prior on the agent's counts)
    ability: float  # theta_a on the leave-agent-out scale (nan for "beta")
    ability_se: float
    tau: float  # extra logit sd of the agent's tasks around the 1PL (nan for "beta")
    other_agents: int  # agents whose attempts the difficulties come from

    def to_dict(self) -> dict[str, object]:
        return {"agent": self.agent, "method": self.method, "ability": round(self.ability, 4),
                "ability_se": round(self.ability_se, 4), "tau": round(self.tau, 4),
                "other_agents": self.other_agents}


def _ability(k: np.ndarray, n: np.ndarray, b: np.ndarray, l2: float) -> tuple[float, float]:
    """Penalised MLE of one ability given fixed difficulties (Newton steps), and its standard error."""
    theta = 0.0
    for _ in range(100):
        p = expit(theta - b)
        grad = float(np.sum(k - n * p)) - l2 * theta
        info = float(np.sum(n * p * (1.0 - p))) + l2
        step = grad / info
        theta += float(np.clip(step, -2.0, 2.0))
        if abs(step) < 1e-10:
            break
    p = expit(theta - b)
    return theta, float(1.0 / np.sqrt(np.sum(n * p * (1.0 - p)) + l2))


def _neg_marginal(tau: float, mu: np.ndarray, s: np.ndarray, k: np.ndarray, n: np.ndarray) -> float:
    a, b = logit_normal_beta(mu, np.sqrt(s * s + tau * tau))
    return -float(np.sum(betaln(k + a, n - k + b) - betaln(a, b)))


def agent_pass_rates(observations: Observations, agent: str, *, config: IRTConfig | None = None,
                     reference: IRTFit | None = None,
                     predicted: Mapping[str, tuple[float, float]] | None = None
                     ) -> tuple[PassRates, AgentPrior]:
    """Posteriors of ``agent``'s pass rate on every task of ``observations``, and how the prior was built.

    ``predicted`` gives ``{task_id: (difficulty, sd)}`` on the scale of ``reference`` (the 1PL fitted on
    every agent) for tasks nobody has tried; they are moved onto the leave-agent-out scale through the
    agent's ability in both fits. With no other agent to learn difficulties from, the prior is one beta
    fitted to the agent's own counts (``method="beta"``).
    """
    cfg = config or IRTConfig()
    if agent not in observations.agents:
        raise InputError(f"no scored rollouts by agent {agent!r}; agents: {', '.join(observations.agents)}",
                         field="agent")
    me = observations.agent_index == observations.agents.index(agent)
    success = observations.success(cfg.threshold)
    n_tasks = len(observations.tasks)
    k = np.bincount(observations.task_index[me], weights=success[me], minlength=n_tasks)
    n = np.bincount(observations.task_index[me], minlength=n_tasks).astype(np.float64)
    others = ~me
    if not others.any():
        prior = fit_beta_prior(k, n)
        rates = PassRates.from_counts(observations.tasks, k, n, prior=prior)
        return rates, AgentPrior(agent, "beta", float("nan"), float("nan"), float("nan"), 0)
    rest = Observations(observations.agents, observations.tasks, observations.agent_index[others],
                        observations.task_index[others], observations.reward[others])
    fit = fit_irt(rest, cfg)
    b, b_se = fit.difficulty.copy(), fit.difficulty_se.copy()
    theta, theta_se = _ability(k, n, b, cfg.l2_ability)
    if predicted:
        if reference is None or agent not in reference.agents:
            raise InputError("predicted difficulties need the all-agent IRT fit they were made on")
        shift = theta - float(reference.ability[reference.agents.index(agent)])
        for j, task in enumerate(observations.tasks):
            if fit.trials[j] == 0 and task in predicted:
                b[j], b_se[j] = predicted[task][0] + shift, predicted[task][1]
    mu, s = theta - b, np.sqrt(b_se * b_se + theta_se * theta_se)
    tried = n > 0
    tau = 0.0
    if tried.sum() >= 2:
        result = minimize_scalar(_neg_marginal, bounds=(0.0, _TAU_MAX), method="bounded",
                                 args=(mu[tried], s[tried], k[tried], n[tried]), options={"xatol": 1e-3})
        tau = float(result.x)
    alpha, beta = logit_normal_beta(mu, np.sqrt(s * s + tau * tau))
    # The summary prior: the Beta matching the mean and variance of the mixture of the task priors.
    m = alpha / (alpha + beta)
    second = np.mean(m * m + alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1.0)))
    mix_mean = float(np.mean(m))
    mix_var = max(float(second) - mix_mean * mix_mean, 1e-12)
    conc = float(np.clip(mix_mean * (1.0 - mix_mean) / mix_var - 1.0, _CONC_MIN, _CONC_MAX))
    summary = BetaPrior(mix_mean * conc, (1.0 - mix_mean) * conc, "irt")
    rates = PassRates(tuple(observations.tasks), k, n, summary, task_prior=(alpha, beta))
    n_others = len(set(observations.agent_index[others].tolist()))
    return rates, AgentPrior(agent, "irt", theta, theta_se, tau, n_others)
