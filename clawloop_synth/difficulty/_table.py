"""One plain row per task joining pass-rate posteriors, IRT difficulty and predictions.

The rows are what a stage writes to its dataset and what ``curriculum.TaskEstimate.from_row`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from clawloop_synth.difficulty._irt import IRTFit
from clawloop_synth.difficulty._passrate import PassRates
from clawloop_synth.difficulty._predict import Prediction

__all__ = ["estimate_rows", "predictions_by_task"]


def predictions_by_task(task_ids: Sequence[str], prediction: Prediction) -> dict[str, tuple[float, float]]:
    """``{task_id: (mean, sd)}`` from a prediction whose rows follow ``task_ids``."""
    return {t: (float(m), float(s)) for t, m, s in zip(task_ids, prediction.mean, prediction.sd, strict=True)}


def estimate_rows(pass_rates: PassRates, irt: IRTFit | None = None, *,
                  predicted: Mapping[str, tuple[float, float]] | None = None) -> list[dict[str, Any]]:
    """Rows with task_id, successes, trials, alpha, beta, pass_mean, pass_sd, learnability,
    difficulty, difficulty_sd and difficulty_source.

    The difficulty comes from the IRT fit for tasks with attempts ("irt"), else from ``predicted``
    ("predicted"), else from the IRT prior ("prior"); with no IRT fit at all it is the log-odds of the
    posterior failure rate ("pass_rate", sd by the delta method).
    """
    predicted = predicted or {}
    irt_index = {t: j for j, t in enumerate(irt.tasks)} if irt is not None else {}
    mean, var, learn = pass_rates.mean, pass_rates.var, pass_rates.learnability
    rows = []
    for j, task in enumerate(pass_rates.tasks):
        p, sd_p = float(mean[j]), float(np.sqrt(var[j]))
        if task in irt_index and irt is not None and irt.trials[irt_index[task]] > 0:
            i = irt_index[task]
            d, d_sd, source = float(irt.difficulty[i]), float(irt.difficulty_se[i]), "irt"
        elif task in predicted:
            (d, d_sd), source = predicted[task], "predicted"
        elif task in irt_index and irt is not None:
            i = irt_index[task]
            d, d_sd, source = float(irt.difficulty[i]), float(irt.difficulty_se[i]), "prior"
        else:
            d, d_sd, source = float(np.log((1.0 - p) / p)), sd_p / (p * (1.0 - p)), "pass_rate"
        rows.append({
            "task_id": task, "successes": float(pass_rates.successes[j]),
            "trials": float(pass_rates.trials[j]),
            "alpha": float(pass_rates.alpha[j]), "beta": float(pass_rates.beta[j]), "pass_mean": p,
            "pass_sd": sd_p, "learnability": float(learn[j]), "difficulty": d, "difficulty_sd": d_sd,
            "difficulty_source": source,
        })
    return rows
