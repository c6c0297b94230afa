"""1PL item response model: P(agent i solves task j) = sigmoid(theta_i - b_j).

Fitted by penalised maximum likelihood over the observed (agent, task) cells only: repeated attempts
on a cell are summed into a binomial count, the loss and its analytic gradient are vectorised over
cells with ``np.bincount``, and L-BFGS minimises it. An L2 penalty (a Gaussian prior with precision
``l2_*``) on abilities and difficulties keeps tasks that every agent solves (or fails) finite. The
likelihood only sees theta - b, so after fitting both are shifted to centre the abilities (or the
difficulties) on zero. Standard errors come from the diagonal of the Hessian (Fisher information
plus the penalty), ignoring the covariance between parameters.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from clawloop_synth.difficulty._observations import SUCCESS_THRESHOLD, Observations
from clawloop_synth.errors import InputError

__all__ = ["IRTConfig", "IRTFit", "fit_irt"]


@dataclass(frozen=True)
class IRTConfig:
    """Hyperparameters of the 1PL fit."""

    l2_ability: float = 0.1  # prior precision on abilities (prior sd ~3.2 logits)
    l2_difficulty: float = 0.1  # prior precision on difficulties
    centre: Literal["ability", "difficulty"] = "ability"
    threshold: float = SUCCESS_THRESHOLD  # reward >= threshold is a success
    max_iter: int = 1000
    gtol: float = 1e-6


@dataclass(frozen=True)
class IRTFit:
    """Fitted abilities and difficulties (logits), aligned with ``agents`` and ``tasks``."""

    agents: tuple[str, ...]
    tasks: tuple[str, ...]
    ability: np.ndarray
    ability_se: np.ndarray
    difficulty: np.ndarray
    difficulty_se: np.ndarray
    trials: np.ndarray  # attempts per task; 0 marks a task whose difficulty is only the prior
    loss: float  # penalised negative log likelihood at the optimum
    n_iter: int
    converged: bool

    @property
    def rated(self) -> np.ndarray:
        """Mask of tasks with at least one attempt."""
        return self.trials > 0

    def probability(self, agent: str, task: str) -> float:
        """Fitted probability that ``agent`` solves ``task``."""
        i, j = self.agents.index(agent), self.tasks.index(task)
        return float(expit(self.ability[i] - self.difficulty[j]))


def _single_threaded_blas() -> AbstractContextManager[Any]:
    """Limit BLAS to one thread where threadpoolctl is installed.

    L-BFGS's small dense updates (a few thousand parameters) are slower with OpenBLAS threads than
    without: on a busy 2-core machine the thread hand-offs cost several times the arithmetic.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _loss_and_grad(params: np.ndarray, n_agents: int, n_tasks: int, rows: np.ndarray, cols: np.ndarray,
                   k: np.ndarray, n: np.ndarray, l2_a: float, l2_b: float) -> tuple[float, np.ndarray]:
    theta, b = params[:n_agents], params[n_agents:]
    z = theta[rows] - b[cols]
    # -log sigmoid(z) = logaddexp(0, -z) and -log(1 - sigmoid(z)) = logaddexp(0, z), stable for large |z|.
    # Elementwise sums rather than np.dot: a BLAS call spins up threads that cost more than the work here.
    nll = float(np.sum(k * np.logaddexp(0.0, -z) + (n - k) * np.logaddexp(0.0, z)))
    nll += 0.5 * (l2_a * float(np.sum(theta * theta)) + l2_b * float(np.sum(b * b)))
    residual = n * expit(z) - k  # d nll / d z per cell
    grad = np.empty_like(params)
    grad[:n_agents] = np.bincount(rows, weights=residual, minlength=n_agents) + l2_a * theta
    grad[n_agents:] = -np.bincount(cols, weights=residual, minlength=n_tasks) + l2_b * b
    return nll, grad


def fit_irt(observations: Observations, config: IRTConfig | None = None) -> IRTFit:
    """Fit the 1PL model to every attempt in ``observations``."""
    cfg = config or IRTConfig()
    if cfg.l2_ability <= 0 or cfg.l2_difficulty <= 0:
        raise InputError("the L2 penalties must be positive (they keep all-pass and all-fail tasks finite)")
    if cfg.centre not in ("ability", "difficulty"):
        raise InputError(f"centre must be 'ability' or 'difficulty', got {cfg.centre!r}", field="centre")
    if len(observations) == 0:
        raise InputError("no observations to fit the IRT model to")
    n_agents, n_tasks = len(observations.agents), len(observations.tasks)
    rows, cols, k, n = observations.cell_counts(cfg.threshold)
    # Start from the smoothed log-odds of each task's failure rate: close to the optimum, few iterations.
    task_k = np.bincount(cols, weights=k, minlength=n_tasks)
    task_n = np.bincount(cols, weights=n, minlength=n_tasks)
    start = np.zeros(n_agents + n_tasks)
    start[n_agents:] = -np.log((task_k + 0.5) / (task_n - task_k + 0.5))
    with _single_threaded_blas():
        result = minimize(_loss_and_grad, start, jac=True, method="L-BFGS-B",
                          args=(n_agents, n_tasks, rows, cols, k, n, cfg.l2_ability, cfg.l2_difficulty),
                          options={"maxiter": cfg.max_iter, "gtol": cfg.gtol, "ftol": 1e-12})
    theta, b = result.x[:n_agents].copy(), result.x[n_agents:].copy()
    info = n * (p := expit(theta[rows] - b[cols])) * (1.0 - p)
    ability_se = 1.0 / np.sqrt(np.bincount(rows, weights=info, minlength=n_agents) + cfg.l2_ability)
    difficulty_se = 1.0 / np.sqrt(np.bincount(cols, weights=info, minlength=n_tasks) + cfg.l2_difficulty)
    shift = float(theta.mean()) if cfg.centre == "ability" else float(b[task_n > 0].mean())
    return IRTFit(agents=observations.agents, tasks=observations.tasks, ability=theta - shift,
                  ability_se=ability_se, difficulty=b - shift, difficulty_se=difficulty_se,
                  trials=task_n, loss=float(result.fun), n_iter=int(result.nit),
                  converged=bool(result.success))
