"""Scripted agents: one that replays the reference, and one with flaws planted at given rates.

They are generic over any TaskSpec (demo, airline, generated): they read the task's reference
solution, so they need no model and no network, and the same (agent, task, attempt) always gives
the same run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from clawloop_synth.types import TaskSpec

from ._flaws import FLAW_MODES, Script, build_flaw
from ._plan import plan_for

__all__ = ["Agent", "Episode", "FlawedAgent", "ReferenceAgent", "scripted_population"]


@dataclass
class Episode:
    """One run's script (yields calls, receives results, returns the answer) and its planted flaw."""

    script: Script
    planted_mode: str = "none"


class Agent(Protocol):
    name: str

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode: ...


def _reference_script(task: TaskSpec) -> Script:
    for call in task.reference.calls:  # noqa: UP028  (results are sent in; a list iterator takes no send)
        yield call
    return task.reference.answer


class ReferenceAgent:
    """Replays the task's reference solution and gives its answer."""

    def __init__(self, name: str = "reference") -> None:
        self.name = name

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        return Episode(_reference_script(task))


class FlawedAgent:
    """Replays the reference, but each flaw mode fires with its own rate.

    ``flaws`` maps mode names (:data:`FLAW_MODES`) to rates in [0, 1]. Per run, each mode draws
    once; among the modes that drew under their rate and that the task has room for (no transient
    error in the reference: no ``no_retry_after_transient``), one is picked and planted. Draws are
    seeded by ``(seed, task id, attempt)``, so a run is reproducible and attempts differ.
    """

    def __init__(self, flaws: Mapping[str, float], seed: int = 0, name: str | None = None) -> None:
        unknown = sorted(set(flaws) - set(FLAW_MODES))
        if unknown:
            raise ValueError(f"unknown flaw mode(s) {unknown}; known: {list(FLAW_MODES)}")
        bad = [mode for mode, rate in flaws.items() if not 0.0 <= rate <= 1.0]
        if bad:
            raise ValueError(f"flaw rates must be in [0, 1]: {bad}")
        self.flaws = {mode: float(flaws.get(mode, 0.0)) for mode in FLAW_MODES}
        self.seed = seed
        self.name = name or "flawed-" + "-".join(f"{m}={r:g}" for m, r in self.flaws.items() if r > 0)

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        rng = random.Random(f"{self.seed}:{task.id}:{attempt}")
        draws = {mode: rng.random() for mode in FLAW_MODES}
        fired = [mode for mode in FLAW_MODES if draws[mode] < self.flaws[mode]]
        rng.shuffle(fired)
        if fired:
            plan = plan_for(task)
            for mode in fired:
                script = build_flaw(mode, plan, rng)
                if script is not None:
                    return Episode(script, mode)
        return Episode(_reference_script(task))


def scripted_population(seed: int = 0, levels: tuple[float, ...] = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0)
                        ) -> list[ReferenceAgent | FlawedAgent]:
    """The reference agent plus one flawed agent per skill level, for a graded offline population.

    A level is the chance that a run draws a flaw at all: each mode's rate is ``level`` times a
    weight (seeded, so agents differ in which mistakes they favour); ``no_retry_after_transient``
    weighs more since only tasks with a transient error leave room for it.
    """
    rng = random.Random(f"population:{seed}")
    agents: list[ReferenceAgent | FlawedAgent] = [ReferenceAgent()]
    for k, level in enumerate(levels):
        weights = {mode: rng.uniform(0.5, 1.5) * (4.0 if mode == "no_retry_after_transient" else 1.0)
                   for mode in FLAW_MODES}
        top = max(weights.values())
        # Rates scaled so the single likeliest mode fires at ``level``; the others at less.
        flaws = {mode: round(level * w / top, 3) for mode, w in weights.items()}
        agents.append(FlawedAgent(flaws, seed=seed * 1000 + k, name=f"flawed-{k + 1}"))
    return agents
