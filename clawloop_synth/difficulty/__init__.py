"""Task difficulty from observed rewards: smoothed pass rates, 1PL IRT, and predictions for unseen tasks.

Typical use over plain tables::

    obs = Observations.from_records(rollouts)          # (agent, task_id, reward) tuples or Rollouts
    fit = fit_irt(obs)                                 # abilities and difficulties in logits
    rates, how = agent_pass_rates(obs, median_agent(fit))  # one agent's posteriors, IRT-centred priors
    pooled = smooth_pass_rates(obs)                    # one beta-binomial prior over all tasks' counts
    preds = predict_difficulty(fit.difficulty[rated], rated_features=X[rated], query_features=X[~rated])
    rows = estimate_rows(rates, fit, predicted=predictions_by_task(unrated_ids, preds["combined"]))

A reward >= 0.5 (``SUCCESS_THRESHOLD``) counts as a success for the binomial models.
"""

from clawloop_synth.difficulty._agentrate import AgentPrior, agent_pass_rates, logit_normal_beta, median_agent
from clawloop_synth.difficulty._calibration import CalibrationReport, calibration_report
from clawloop_synth.difficulty._irt import IRTConfig, IRTFit, fit_irt
from clawloop_synth.difficulty._observations import SUCCESS_THRESHOLD, Observations
from clawloop_synth.difficulty._passrate import BetaPrior, PassRates, fit_beta_prior, smooth_pass_rates
from clawloop_synth.difficulty._predict import (
    NUMERIC_FEATURES,
    Prediction,
    RidgeRegression,
    combine_predictions,
    feature_matrix,
    predict_difficulty,
    predict_from_features,
    predict_from_neighbours,
)
from clawloop_synth.difficulty._table import estimate_rows, predictions_by_task

__all__ = [
    "NUMERIC_FEATURES",
    "SUCCESS_THRESHOLD",
    "AgentPrior",
    "BetaPrior",
    "CalibrationReport",
    "IRTConfig",
    "IRTFit",
    "Observations",
    "PassRates",
    "Prediction",
    "RidgeRegression",
    "agent_pass_rates",
    "calibration_report",
    "combine_predictions",
    "estimate_rows",
    "feature_matrix",
    "fit_beta_prior",
    "fit_irt",
    "logit_normal_beta",
    "median_agent",
    "predict_difficulty",
    "predict_from_features",
    "predict_from_neighbours",
    "predictions_by_task",
    "smooth_pass_rates",
]
