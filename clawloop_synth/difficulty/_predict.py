"""Difficulty of tasks with no rollouts yet, predicted from rated tasks.

Two predictors, each returning a mean and a standard deviation per task, and their combination:

- neighbours: the k most cosine-similar rated tasks in embedding space (faiss ``IndexFlatIP`` past a
  size threshold, a numpy product below it); the mean is their softmax(similarity / temperature)
  weighted difficulty, the spread their weighted variance plus their own fitted variance;
- features: ridge regression on static task features (steps, tools, writes, distractors, one-hot
  failure codes), with the penalty picked by generalised cross-validation; the spread is the residual
  variance inflated by the query's leverage;
- combined: inverse-variance weighting of the available predictors (it treats their errors as
  independent, so its spread is optimistic when both lean on the same signal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clawloop_synth.errors import InputError
from clawloop_synth.types import TaskFeatures

__all__ = [
    "NUMERIC_FEATURES",
    "Prediction",
    "RidgeRegression",
    "combine_predictions",
    "feature_matrix",
    "predict_difficulty",
    "predict_from_features",
    "predict_from_neighbours",
]

NUMERIC_FEATURES = ("steps", "tools", "writes", "distractors")
_FAISS_MIN_CELLS = 2_000_000  # rated x query similarities above which faiss beats one numpy product
_MIN_SD = 0.05


@dataclass(frozen=True)
class Prediction:
    """Predicted difficulty (logits, IRT scale) per query task, with its standard deviation."""

    mean: np.ndarray
    sd: np.ndarray
    source: str  # "neighbours", "features" or "combined"

    def __len__(self) -> int:
        return int(self.mean.shape[0])


def _unit_rows(matrix: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(matrix, dtype=np.float32)
    if x.ndim != 2:
        raise InputError(f"{name} must be a 2-D matrix, got shape {x.shape}", field=name)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(norms > 0, norms, 1.0))


def _top_k(rated: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Similarities and indices of the k nearest rated rows for each query row (inner product)."""
    if rated.shape[0] * query.shape[0] >= _FAISS_MIN_CELLS:
        import faiss  # imported here: the small-set path needs no faiss

        index = faiss.IndexFlatIP(rated.shape[1])
        index.add(rated)
        sims, idx = index.search(query, k)
        return sims.astype(np.float64), idx
    sims = query @ rated.T
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return np.take_along_axis(sims, idx, axis=1).astype(np.float64), idx


def predict_from_neighbours(rated_embeddings: np.ndarray, rated_difficulty: np.ndarray,
                            query_embeddings: np.ndarray, *, rated_se: np.ndarray | None = None,
                            k: int = 10, temperature: float = 0.1) -> Prediction:
    """Weighted mean of the k nearest rated tasks' difficulty, with their spread as the uncertainty."""
    rated = _unit_rows(rated_embeddings, "rated_embeddings")
    query = _unit_rows(query_embeddings, "query_embeddings")
    y = np.asarray(rated_difficulty, dtype=np.float64)
    if rated.shape[0] != y.shape[0] or rated.shape[0] == 0:
        raise InputError(f"{rated.shape[0]} rated embeddings for {y.shape[0]} difficulties")
    if rated.shape[1] != query.shape[1]:
        raise InputError(f"embedding widths differ: rated {rated.shape[1]}, query {query.shape[1]}")
    if temperature <= 0:
        raise InputError("temperature must be positive", field="temperature")
    se2 = np.zeros_like(y) if rated_se is None else np.asarray(rated_se, dtype=np.float64) ** 2
    k = max(1, min(k, rated.shape[0]))
    sims, idx = _top_k(rated, query, k)
    logits = sims / temperature
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    values = y[idx]
    mean = np.sum(weights * values, axis=1)
    spread = np.sum(weights * (values - mean[:, None]) ** 2, axis=1) + np.sum(weights * se2[idx], axis=1)
    return Prediction(mean, np.sqrt(spread + _MIN_SD**2), "neighbours")


def feature_matrix(features: Sequence[TaskFeatures | Mapping[str, Any]], *,
                   codes: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Numeric features then one-hot failure codes; pass the rated tasks' ``codes`` for query tasks."""
    rows = [f if isinstance(f, TaskFeatures) else TaskFeatures.model_validate(dict(f)) for f in features]
    vocabulary = sorted({c for f in rows for c in f.failure_codes}) if codes is None else list(codes)
    column = {code: i for i, code in enumerate(vocabulary)}
    x = np.zeros((len(rows), len(NUMERIC_FEATURES) + len(vocabulary)))
    for r, f in enumerate(rows):
        x[r, : len(NUMERIC_FEATURES)] = [getattr(f, name) for name in NUMERIC_FEATURES]
        for code in f.failure_codes:
            if code in column:  # a code no rated task has carries no information
                x[r, len(NUMERIC_FEATURES) + column[code]] = 1.0
    return x, [*NUMERIC_FEATURES, *(f"code={c}" for c in vocabulary)]


class RidgeRegression:
    """Ridge regression on standardised columns with an unpenalised intercept and a predictive spread."""

    def __init__(self, alpha: float | None = None, grid: Sequence[float] = tuple(np.logspace(-3, 3, 25))):
        self.alpha = alpha  # None: pick by generalised cross-validation over ``grid``
        self.grid = tuple(grid)

    def fit(self, x: np.ndarray, y: np.ndarray) -> RidgeRegression:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
            raise InputError(f"need 2 or more rated tasks with a feature row each, got x {x.shape}, "
                             f"y {y.shape}")
        self.mu_, sd = x.mean(axis=0), x.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.intercept_ = float(y.mean())
        u, s, vt = np.linalg.svd((x - self.mu_) / self.scale_, full_matrices=False)
        uty = u.T @ (y - self.intercept_)
        n = x.shape[0]

        def fit_at(alpha: float) -> tuple[float, float, np.ndarray]:
            shrink = s**2 / (s**2 + alpha)
            fitted = u @ (shrink * uty)
            rss = float(np.sum((y - self.intercept_ - fitted) ** 2))
            return rss, 1.0 + float(shrink.sum()), shrink  # the intercept is one more degree of freedom

        candidates = [self.alpha] if self.alpha is not None else list(self.grid)
        gcv = [n * rss / max(n - df, 1e-9) ** 2 for rss, df, _ in map(fit_at, candidates)]
        self.alpha_ = float(candidates[int(np.argmin(gcv))])
        rss, df, shrink = fit_at(self.alpha_)
        self.coef_ = vt.T @ (np.divide(shrink * uty, s, out=np.zeros_like(s), where=s > 0))
        self.sigma2_ = rss / max(n - df, 1.0)
        # (Z'Z + alpha I)^-1 in the SVD basis, for the leverage of new rows
        self._vt, self._inv = vt, 1.0 / (s**2 + self.alpha_)
        self._n = n
        return self

    def predict(self, x: np.ndarray) -> Prediction:
        z = (np.asarray(x, dtype=np.float64) - self.mu_) / self.scale_
        mean = self.intercept_ + z @ self.coef_
        proj = z @ self._vt.T
        leverage = 1.0 / self._n + np.sum(proj**2 * self._inv, axis=1)
        # directions the rated tasks never varied in (more columns than tasks) are held by the penalty alone
        outside = np.clip(np.sum(z**2, axis=1) - np.sum(proj**2, axis=1), 0.0, None)
        leverage += outside / self.alpha_
        return Prediction(mean, np.sqrt(self.sigma2_ * (1.0 + leverage) + _MIN_SD**2), "features")


def predict_from_features(rated_features: np.ndarray, rated_difficulty: np.ndarray,
                          query_features: np.ndarray, *, alpha: float | None = None) -> Prediction:
    """Ridge prediction of difficulty from feature matrices (see ``feature_matrix``)."""
    return RidgeRegression(alpha).fit(rated_features, rated_difficulty).predict(query_features)


def combine_predictions(*predictions: Prediction) -> Prediction:
    """Inverse-variance weighted mean of predictions of the same tasks."""
    if not predictions:
        raise InputError("nothing to combine")
    precision = np.sum([1.0 / p.sd**2 for p in predictions], axis=0)
    mean = np.sum([p.mean / p.sd**2 for p in predictions], axis=0) / precision
    return Prediction(mean, 1.0 / np.sqrt(precision), "combined")


def predict_difficulty(rated_difficulty: np.ndarray, *, rated_se: np.ndarray | None = None,
                       rated_embeddings: np.ndarray | None = None, query_embeddings: np.ndarray | None = None,
                       rated_features: np.ndarray | None = None, query_features: np.ndarray | None = None,
                       k: int = 10, temperature: float = 0.1, alpha: float | None = None
                       ) -> dict[str, Prediction]:
    """Every predictor the inputs allow, plus ``combined``: keys "neighbours", "features", "combined"."""
    out: dict[str, Prediction] = {}
    if rated_embeddings is not None and query_embeddings is not None:
        out["neighbours"] = predict_from_neighbours(rated_embeddings, rated_difficulty, query_embeddings,
                                                    rated_se=rated_se, k=k, temperature=temperature)
    if rated_features is not None and query_features is not None:
        out["features"] = predict_from_features(rated_features, rated_difficulty, query_features, alpha=alpha)
    if not out:
        raise InputError("give embeddings or features for both the rated and the query tasks")
    out["combined"] = combine_predictions(*out.values())
    return out
