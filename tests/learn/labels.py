"""The decisions a labelled argument fill records: each target, in order (None where no candidate is right)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from clawloop_synth.learn.args import ArgFiller
from clawloop_synth.learn.features import Episode
from clawloop_synth.learn.linear import Decision, update


def fill_labels(ep: Episode, schema: dict[str, Any], wanted: dict[str, Any]) -> list[int | None]:
    """Fill ``wanted`` for a tool ``take`` of ``schema``, forcing the right choice at every decision."""
    labels: list[int | None] = []

    def force(feats: list[np.ndarray], target: int | None) -> int:
        labels.append(target)
        return -1 if target is None else target

    ArgFiller(ep, "take", {}, force).fill(schema, wanted)
    return labels


def train_on_fills(w: np.ndarray, cases: Iterable[tuple[Episode, dict[str, Any]]], schema: dict[str, Any]) -> None:
    """Train ``w`` in place on the forced decisions of filling each case's wanted arguments (4 epochs)."""
    data: list[Decision] = []

    def force(feats: list[np.ndarray], target: int | None) -> int:
        assert target is not None
        if target >= 0:
            data.append(Decision("pick", feats, target))
        return target

    for ep, wanted in cases:
        ArgFiller(ep, "take", {}, force).fill(schema, wanted)
    for epoch in range(4):
        update(w, data, 0.3 / (1 + epoch))
