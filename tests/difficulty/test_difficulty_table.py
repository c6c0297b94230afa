import numpy as np
import pytest

from clawloop_synth.difficulty import (
    Observations,
    Prediction,
    estimate_rows,
    fit_irt,
    predictions_by_task,
    smooth_pass_rates,
)


def test_rows_take_difficulty_from_irt_then_prediction_then_prior() -> None:
    records = [(a, t, float((i + j) % 3 != 0)) for i, a in enumerate("abcd") for j, t in enumerate(["t1", "t2"])]
    obs = Observations.from_records(records, tasks=["t1", "t2", "u1", "u2"])
    rates, fit = smooth_pass_rates(obs), fit_irt(obs)
    predicted = predictions_by_task(["u1"], Prediction(np.array([1.5]), np.array([0.4]), "combined"))
    rows = {r["task_id"]: r for r in estimate_rows(rates, fit, predicted=predicted)}
    assert [rows[t]["difficulty_source"] for t in ("t1", "t2", "u1", "u2")] == ["irt", "irt", "predicted", "prior"]
    assert (rows["u1"]["difficulty"], rows["u1"]["difficulty_sd"]) == (1.5, 0.4)
    assert rows["t1"]["difficulty"] == pytest.approx(float(fit.difficulty[0]))
    assert rows["u2"]["trials"] == 0 and rows["u2"]["pass_mean"] == pytest.approx(rates.prior.mean)
    assert rows["t1"]["alpha"] == pytest.approx(rates.prior.alpha + rows["t1"]["successes"])


def test_rows_without_irt_use_pass_rate_log_odds() -> None:
    obs = Observations.from_records([("a", "t", 1.0), ("b", "t", 1.0), ("a", "u", 0.0), ("b", "u", 0.0)])
    rows = estimate_rows(smooth_pass_rates(obs))
    assert {r["difficulty_source"] for r in rows} == {"pass_rate"}
    by_id = {r["task_id"]: r for r in rows}
    assert by_id["t"]["difficulty"] < 0 < by_id["u"]["difficulty"]
