"""Failure mining: detectors, taxonomy, cards, localization, clustering and cluster labels."""

from __future__ import annotations

from clawloop_synth.mine.context import MineContext, build_context
from clawloop_synth.mine.localize import Localization, localize
from clawloop_synth.mine.miner import MineStats, mine_trace, mine_traces
from clawloop_synth.mine.stage import run_cluster, run_mine

__all__ = [
    "Localization",
    "MineContext",
    "MineStats",
    "build_context",
    "localize",
    "mine_trace",
    "mine_traces",
    "run_cluster",
    "run_mine",
]
