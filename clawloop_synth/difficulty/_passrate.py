"""Per-task pass rates smoothed by a beta-binomial prior fitted to all tasks (empirical Bayes).

Each task j has an unknown pass rate p_j ~ Beta(alpha, beta); its k_j successes in n_j trials are
Binomial(n_j, p_j). The prior (alpha, beta) is fitted to every task at once, by maximum marginal
likelihood (the beta-binomial likelihood, started from the method-of-moments estimate) or by the
method of moments alone; each task's posterior is then Beta(alpha + k_j, beta + n_j - k_j). Tasks with
few trials are pulled towards the population mean, tasks with many keep their own rate.

Fit it to one agent's counts: pooled over agents of unequal skill, a task's summed successes are
under-dispersed and the fit runs to its concentration bound. ``agent_pass_rates`` gives one agent's
rates with a per-task prior centred on the IRT prediction (``PassRates.task_prior``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma

from clawloop_synth.difficulty._observations import SUCCESS_THRESHOLD, Observations
from clawloop_synth.errors import InputError

__all__ = ["BetaPrior", "PassRates", "fit_beta_prior", "smooth_pass_rates"]

Method = Literal["mle", "moments"]

# The prior's parameters are kept within these bounds: beyond them the likelihood is flat (no spread
# between tasks, or every task at 0 or 1) and an unbounded optimiser would wander off to infinity.
_LOG_MIN, _LOG_MAX = np.log(1e-3), np.log(1e6)
# With a single trial per task the spread between tasks is not identifiable, only the mean is.
_DEFAULT_CONCENTRATION = 2.0


@dataclass(frozen=True)
class BetaPrior:
    """Beta(alpha, beta) over task pass rates."""

    alpha: float
    beta: float
    method: str  # "mle", "moments" or "default" (no data to fit)

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def concentration(self) -> float:
        return self.alpha + self.beta


def _moments(successes: np.ndarray, trials: np.ndarray) -> tuple[float, float]:
    """Method of moments for the beta-binomial with unequal trial counts.

    With m the pooled mean and rho = 1 / (alpha + beta + 1), the observed rate k/n of a task has
    variance m (1 - m) (1/n + rho (1 - 1/n)); solving for rho from the sample variance of the rates
    gives alpha + beta = 1/rho - 1.
    """
    total = float(trials.sum())
    m = float(np.clip(successes.sum() / total, 0.5 / total, 1.0 - 0.5 / total))
    inv_n = 1.0 / trials
    between = float(np.mean(1.0 - inv_n))
    if trials.shape[0] < 2 or between <= 0.0:
        return m * _DEFAULT_CONCENTRATION, (1.0 - m) * _DEFAULT_CONCENTRATION
    spread = float(np.var(successes / trials, ddof=1)) / (m * (1.0 - m))
    rho = float(np.clip((spread - float(np.mean(inv_n))) / between, 1e-6, 1.0 - 1e-6))
    concentration = float(np.clip(1.0 / rho - 1.0, np.exp(_LOG_MIN) * 2, np.exp(_LOG_MAX)))
    return m * concentration, (1.0 - m) * concentration


def _neg_marginal(params: np.ndarray, k: np.ndarray, n: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative beta-binomial log likelihood (binomial coefficients dropped) and its gradient in log space."""
    a, b = np.exp(params)
    loglik = np.sum(betaln(k + a, n - k + b) - betaln(a, b))
    common = digamma(a + b) - digamma(n + a + b)
    grad_a = np.sum(digamma(k + a) - digamma(a) + common)
    grad_b = np.sum(digamma(n - k + b) - digamma(b) + common)
    return -float(loglik), -np.array([grad_a * a, grad_b * b])


def fit_beta_prior(successes: np.ndarray, trials: np.ndarray, *, method: Method = "mle") -> BetaPrior:
    """Fit Beta(alpha, beta) to per-task success and trial counts (tasks with no trial are ignored)."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if k.shape != n.shape or np.any(k < 0) or np.any(k > n):
        raise InputError("successes and trials must align, with 0 <= successes <= trials")
    if method not in ("mle", "moments"):
        raise InputError(f"unknown prior fitting method {method!r}; use 'mle' or 'moments'", field="method")
    rated = n > 0
    k, n = k[rated], n[rated]
    if n.shape[0] == 0:
        return BetaPrior(1.0, 1.0, "default")
    a0, b0 = _moments(k, n)
    if method == "moments" or np.all(n <= 1):
        return BetaPrior(a0, b0, "moments")
    start = np.clip(np.log([a0, b0]), _LOG_MIN, _LOG_MAX)
    result = minimize(_neg_marginal, start, args=(k, n), jac=True, method="L-BFGS-B",
                      bounds=[(_LOG_MIN, _LOG_MAX)] * 2)
    a, b = np.exp(result.x)
    return BetaPrior(float(a), float(b), "mle")


@dataclass(frozen=True)
class PassRates:
    """Each task's Beta posterior over its pass rate, aligned with ``tasks``.

    The prior is ``prior`` for every task, unless ``task_prior`` gives each task its own
    ``(alpha_j, beta_j)`` (see ``agent_pass_rates``); ``prior`` then only summarises them.
    """

    tasks: tuple[str, ...]
    successes: np.ndarray
    trials: np.ndarray
    prior: BetaPrior
    task_prior: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def prior_alpha(self) -> np.ndarray:
        """Each task's prior alpha."""
        if self.task_prior is not None:
            return self.task_prior[0]
        return np.full(self.successes.shape, self.prior.alpha)

    @property
    def prior_beta(self) -> np.ndarray:
        """Each task's prior beta."""
        if self.task_prior is not None:
            return self.task_prior[1]
        return np.full(self.successes.shape, self.prior.beta)

    @property
    def alpha(self) -> np.ndarray:
        return self.prior_alpha + self.successes

    @property
    def beta(self) -> np.ndarray:
        return self.prior_beta + self.trials - self.successes

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean pass rate E[p]."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def var(self) -> np.ndarray:
        """Posterior variance of the pass rate."""
        a, b = self.alpha, self.beta
        return a * b / ((a + b) ** 2 * (a + b + 1.0))

    @property
    def learnability(self) -> np.ndarray:
        """E[p (1 - p)] = E[p] - E[p^2] = alpha beta / ((alpha + beta)(alpha + beta + 1))."""
        a, b = self.alpha, self.beta
        return a * b / ((a + b) * (a + b + 1.0))

    @classmethod
    def from_counts(cls, tasks: tuple[str, ...] | list[str], successes: np.ndarray, trials: np.ndarray,
                    *, prior: BetaPrior | None = None, method: Method = "mle") -> PassRates:
        """Posteriors from per-task counts; the prior is fitted to them unless given."""
        k = np.asarray(successes, dtype=np.float64)
        n = np.asarray(trials, dtype=np.float64)
        if len(tasks) != k.shape[0]:
            raise InputError(f"{len(tasks)} task ids for {k.shape[0]} counts")
        fitted = prior if prior is not None else fit_beta_prior(k, n, method=method)
        return cls(tuple(tasks), k, n, fitted)


def smooth_pass_rates(observations: Observations, *, method: Method = "mle",
                      threshold: float = SUCCESS_THRESHOLD, prior: BetaPrior | None = None) -> PassRates:
    """Empirical-Bayes pass rates for every task in ``observations`` (reward >= threshold is a success)."""
    successes, trials = observations.task_counts(threshold)
    return PassRates.from_counts(observations.tasks, successes, trials, prior=prior, method=method)
