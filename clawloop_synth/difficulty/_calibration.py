"""How well the unseen-task predictors rank tasks: a seeded held-out split of rated tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from clawloop_synth.difficulty._predict import feature_matrix, predict_difficulty
from clawloop_synth.errors import InputError
from clawloop_synth.ranks import spearman
from clawloop_synth.types import TaskFeatures

__all__ = ["CalibrationReport", "calibration_report"]


@dataclass(frozen=True)
class CalibrationReport:
    """Spearman and RMSE between predicted and fitted difficulty on held-out tasks, per predictor.

    ``rmse["constant"]`` is the baseline that predicts the training mean for every task (its Spearman
    is undefined, a constant has no ranking).
    """

    n_train: int
    n_test: int
    holdout: float
    seed: int
    spearman: dict[str, float]
    rmse: dict[str, float]
    mean_sd: dict[str, float] = field(default_factory=dict)  # average predicted sd per predictor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        """A small text table, one predictor per line."""
        lines = [f"held-out {self.n_test} of {self.n_train + self.n_test} rated tasks (seed {self.seed})",
                 f"{'predictor':<11} {'spearman':>9} {'rmse':>7} {'mean sd':>8}"]
        for name in [*self.spearman, "constant"]:
            rho = self.spearman.get(name, float("nan"))
            sd = self.mean_sd.get(name, 0.0)
            lines.append(f"{name:<11} {rho:>9.3f} {self.rmse[name]:>7.3f} {sd:>8.3f}")
        return "\n".join(lines)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape[0] < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return spearman(a, b)


def calibration_report(difficulty: np.ndarray, *, difficulty_se: np.ndarray | None = None,
                       embeddings: np.ndarray | None = None,
                       features: np.ndarray | Sequence[TaskFeatures | Mapping[str, Any]] | None = None,
                       holdout: float = 0.2, seed: int = 0, k: int = 10) -> CalibrationReport:
    """Hold out a seeded ``holdout`` share of rated tasks, predict them from the rest, and score.

    ``difficulty`` (and ``difficulty_se``, ``embeddings``, ``features``) cover rated tasks only, row
    for row; ``features`` is a feature matrix or the tasks' ``TaskFeatures``.
    """
    y = np.asarray(difficulty, dtype=np.float64)
    n = y.shape[0]
    n_test = int(round(holdout * n))
    if not 0.0 < holdout < 1.0 or n_test < 2 or n - n_test < 2:
        raise InputError(f"cannot hold out {holdout:.0%} of {n} rated tasks: need 2 or more on each side",
                         field="holdout")
    x = None
    if features is not None:
        x = features if isinstance(features, np.ndarray) else feature_matrix(features)[0]
    emb = None if embeddings is None else np.asarray(embeddings)
    for name, table in (("embeddings", emb), ("features", x)):
        if table is not None and table.shape[0] != n:
            raise InputError(f"{table.shape[0]} rows of {name} for {n} rated tasks", field=name)
    perm = np.random.default_rng(seed).permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    se = None if difficulty_se is None else np.asarray(difficulty_se, dtype=np.float64)[train]
    preds = predict_difficulty(
        y[train], rated_se=se, k=k,
        rated_embeddings=None if emb is None else emb[train],
        query_embeddings=None if emb is None else emb[test],
        rated_features=None if x is None else x[train],
        query_features=None if x is None else x[test])
    truth = y[test]
    spearman = {name: _spearman(p.mean, truth) for name, p in preds.items()}
    rmse = {name: float(np.sqrt(np.mean((p.mean - truth) ** 2))) for name, p in preds.items()}
    rmse["constant"] = float(np.sqrt(np.mean((y[train].mean() - truth) ** 2)))
    mean_sd = {name: float(p.sd.mean()) for name, p in preds.items()}
    return CalibrationReport(n_train=int(train.shape[0]), n_test=n_test, holdout=holdout, seed=seed,
                             spearman=spearman, rmse=rmse, mean_sd=mean_sd)
