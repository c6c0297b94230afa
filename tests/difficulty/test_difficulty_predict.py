import json
from typing import Any

import numpy as np
import pytest

from clawloop_synth.difficulty import (
    Prediction,
    RidgeRegression,
    calibration_report,
    combine_predictions,
    feature_matrix,
    fit_irt,
    predict_difficulty,
    predict_from_neighbours,
)
from clawloop_synth.difficulty import _predict as predict_module
from clawloop_synth.errors import InputError
from clawloop_synth.types import TaskFeatures
from tests.difficulty.featuresim import simulate_tasks
from tests.difficulty.simulate import simulate_1pl

Rated = tuple[list[TaskFeatures], np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def rated() -> Rated:
    """600 tasks whose true difficulty depends on features, fitted by IRT from 40 simulated agents."""
    features, difficulty, embeddings = simulate_tasks(600, seed=5)
    ability = np.random.default_rng(6).normal(0.0, 1.0, 40)
    fit = fit_irt(simulate_1pl(ability, difficulty, missing=0.3, seed=7))
    return features, embeddings, fit.difficulty, fit.difficulty_se


def test_predictors_beat_a_constant_on_held_out_tasks(rated: Rated) -> None:
    features, embeddings, fitted, se = rated
    report = calibration_report(fitted, difficulty_se=se, embeddings=embeddings, features=features,
                                holdout=0.2, seed=0)
    assert (report.n_train, report.n_test) == (480, 120)
    assert set(report.spearman) == {"neighbours", "features", "combined"}
    for name in ("neighbours", "features", "combined"):
        assert report.spearman[name] > 0.7, report.format()
        assert report.rmse[name] < 0.7 * report.rmse["constant"], report.format()
    again = calibration_report(fitted, difficulty_se=se, embeddings=embeddings, features=features, seed=0)
    assert again == report  # the split is seeded
    json.dumps(report.to_dict())
    assert "combined" in report.format()


def test_calibration_needs_enough_tasks() -> None:
    with pytest.raises(InputError, match="hold out"):
        calibration_report(np.zeros(5), features=np.ones((5, 2)), holdout=0.2)
    with pytest.raises(InputError, match="rows of embeddings"):
        calibration_report(np.arange(20.0), embeddings=np.ones((19, 3)))


def test_feature_matrix_one_hot_codes() -> None:
    feats: list[TaskFeatures | dict[str, Any]] = [TaskFeatures(steps=3, writes=1, failure_codes=["b", "a"]),
                                                  {"steps": 1, "failure_codes": ["c"]}]
    x, names = feature_matrix(feats)
    assert names == ["steps", "tools", "writes", "distractors", "code=a", "code=b", "code=c"]
    assert x.tolist() == [[3, 0, 1, 0, 1, 1, 0], [1, 0, 0, 0, 0, 0, 1]]
    query, _ = feature_matrix([TaskFeatures(steps=2, failure_codes=["a", "new"])], codes=["a", "b", "c"])
    assert query.tolist() == [[2, 0, 0, 0, 1, 0, 0]]  # a code no rated task has is dropped


def test_ridge_recovers_a_linear_rule_and_widens_when_extrapolating() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = 1.0 + x @ np.array([0.5, -1.0, 0.0]) + rng.normal(0, 0.3, 300)
    ridge = RidgeRegression().fit(x, y)
    assert np.allclose(ridge.coef_ / ridge.scale_, [0.5, -1.0, 0.0], atol=0.1)  # coef_ is per sd
    near, far = ridge.predict(np.array([[0.0, 0.0, 0.0], [8.0, -8.0, 8.0]])).sd
    assert near == pytest.approx(0.3, rel=0.2)
    assert far > near


def test_neighbours_weighting_spread_and_faiss_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    rated = rng.normal(size=(50, 8))
    y = rng.normal(size=50)
    exact = predict_from_neighbours(rated, y, rated[:5], k=5, temperature=0.01)
    assert np.allclose(exact.mean, y[:5], atol=1e-3)  # a copy of a rated task takes its difficulty
    se = np.full(50, 0.5)
    wide = predict_from_neighbours(rated, y, rated[:5], rated_se=se, k=5, temperature=0.01)
    assert np.all(wide.sd > exact.sd)
    query = rng.normal(size=(7, 8))
    numpy_path = predict_from_neighbours(rated, y, query, k=4)
    monkeypatch.setattr(predict_module, "_FAISS_MIN_CELLS", 0)
    faiss_path = predict_from_neighbours(rated, y, query, k=4)
    assert np.allclose(numpy_path.mean, faiss_path.mean, atol=1e-5)
    assert np.allclose(numpy_path.sd, faiss_path.sd, atol=1e-5)


def test_inverse_variance_combination() -> None:
    a = Prediction(np.array([0.0, 1.0]), np.array([1.0, 1.0]), "neighbours")
    b = Prediction(np.array([3.0, 1.0]), np.array([0.5, 2.0]), "features")
    c = combine_predictions(a, b)
    assert c.mean.tolist() == pytest.approx([(0.0 + 3.0 * 4) / 5, 1.0])
    assert c.sd.tolist() == pytest.approx([1 / np.sqrt(5), 1 / np.sqrt(1.25)])
    out = predict_difficulty(np.arange(4.0), rated_features=np.arange(4.0)[:, None],
                             query_features=np.array([[1.5]]))
    assert set(out) == {"features", "combined"}
    with pytest.raises(InputError):
        predict_difficulty(np.arange(4.0))
