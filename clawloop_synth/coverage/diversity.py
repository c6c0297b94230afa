"""Diversity of a set of embeddings: the Vendi score (exp of the entropy of the similarity spectrum).

Exact from the smaller Gram matrix while min(n, d) <= :data:`VENDI_EXACT`; above it a low-rank form
with the interval the true score lies in (see :func:`vendi`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clawloop_synth.index import normalize

__all__ = ["VENDI_EXACT", "VENDI_RANK", "Vendi", "vendi", "vendi_score", "vendi_score_dense"]


VENDI_EXACT = 1024  # min(n, d) up to which the whole spectrum is computed (an eigvalsh of at most 1024 x 1024)
VENDI_RANK = 128  # eigenvalues the low-rank form computes above it


@dataclass(frozen=True)
class Vendi:
    """A Vendi score with the interval it is known to lie in (``low == high == score`` when exact)."""

    score: float
    low: float
    high: float

    @property
    def exact(self) -> bool:
        return self.low == self.high


def vendi_score(x: np.ndarray, *, unit: bool = True) -> float:
    """Vendi score (q = 1) with the cosine kernel: exp of the entropy of the eigenvalues of K / n
    (exact up to min(n, d) = ``VENDI_EXACT``, the low-rank estimate of :func:`vendi` above)."""
    return vendi(x, unit=unit).score


def vendi(x: np.ndarray, *, unit: bool = True, exact_below: int = VENDI_EXACT, rank: int = VENDI_RANK) -> Vendi:
    """The Vendi score of the rows of ``x`` and its error bound.

    Exact when min(n, d) <= ``exact_below``: K = X X^T has the nonzero spectrum of X^T X, so the smaller
    of the two (the dual n x n form when n < d) is decomposed. Above it, the low-rank form: the top
    ``rank`` eigenvalues l_1 >= ... >= l_r of K / n from a randomized SVD of X (O(n d r), no d x d or n x n
    matrix), whose sum leaves the tail mass t = tr(K / n) - sum l_i (the trace is exact: ||X||_F^2 / n).
    The tail is at most m - r = min(n, d) - r eigenvalues, none above l_r, so its entropy lies between
    t log(1 / l_r) (the tail packed into eigenvalues equal to l_r) and t log((m - r) / t) (spread evenly):

        H_r + t log(1 / l_r)  <=  H  <=  H_r + t log((m - r) / t),    H_r = -sum l_i log l_i.

    The bound holds for the exact top eigenvalues; the randomized ones are Ritz values (from below) and
    ``tests/coverage/test_metrics.py`` checks the exact score inside the interval. The score reported is
    exp of the midpoint; ``low`` and ``high`` are exp of the two ends.
    """
    x = normalize(x) if unit else np.asarray(x)
    n, d = x.shape
    if n == 0:
        return Vendi(0.0, 0.0, 0.0)
    if min(n, d) <= exact_below:
        # float32 products past a million entries (the spectrum only feeds an entropy), float64 below.
        xs: np.ndarray = x.astype(np.float32 if n * d > 1 << 20 else np.float64)
        gram = np.asarray(xs.T @ xs if n > d else xs @ xs.T)
        score = _exp_entropy(np.linalg.eigvalsh(gram.astype(np.float64) / n))
        return Vendi(score, score, score)
    from clawloop_synth.coverage.spectrum import top_singular

    xs = x.astype(np.float32)
    s, _ = top_singular(xs, rank, oversample=16, power=3)
    top = (s.astype(np.float64) ** 2) / n
    top = top[top > 1e-12]
    head = float(-np.sum(top * np.log(top)))
    tail = max(float(np.einsum("ij,ij->", xs, xs, dtype=np.float64)) / n - float(top.sum()), 0.0)
    if tail <= 1e-12:
        score = float(np.exp(head))
        return Vendi(score, score, score)
    low = head + tail * np.log(1.0 / top[-1])
    high = head + tail * np.log(max(min(n, d) - len(top), 1) / tail)
    return Vendi(float(np.exp((low + high) / 2)), float(np.exp(low)), float(np.exp(high)))


def vendi_score_dense(x: np.ndarray, *, unit: bool = True) -> float:
    """The definition itself, through the n x n kernel matrix (reference for small n)."""
    x = normalize(x).astype(np.float64) if unit else np.asarray(x, dtype=np.float64)
    kernel = x @ x.T
    return _exp_entropy(np.linalg.eigvalsh(kernel / len(x)))


def _exp_entropy(eig: np.ndarray) -> float:
    p = eig[eig > 1e-12]
    return float(np.exp(-np.sum(p * np.log(p))))
