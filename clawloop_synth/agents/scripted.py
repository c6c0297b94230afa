"""Scripted agents: one that replays the reference, and one with flaws planted at given rates.

They are generic over any TaskSpec (demo, airline, generated): they read the task's reference
solution, so they need no model and no network, and the same (agent, task, attempt) always gives
the same run.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from clawloop_synth.types import TaskSpec

from ._flaws import FLAW_MODES, Script, build_flaw
from ._opportunity import fire_chance, opportunities
from ._plan import Plan, plan_for

__all__ = [
    "DISTRACTOR_LOAD",
    "PER_OPPORTUNITY_LEVELS",
    "PER_RUN_LEVELS",
    "TRANSIENT_WEIGHT",
    "Agent",
    "Episode",
    "FlawedAgent",
    "ReferenceAgent",
    "scripted_population",
]


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


# The plan of a task (its reference run once) and its opportunities, shared by every agent and
# attempt on the same task object: the population runs each task dozens of times. Keyed by the
# object's id, checked against a weak reference so a recycled id never hits a stale entry.
_PLANS: dict[int, tuple[weakref.ref[TaskSpec], Plan, dict[str, int]]] = {}
_PLANS_MAX = 4096


def _plan_of(task: TaskSpec) -> tuple[Plan, dict[str, int]]:
    hit = _PLANS.get(id(task))
    if hit is not None and hit[0]() is task:
        return hit[1], hit[2]
    plan = plan_for(task)
    counts = opportunities(plan)
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[id(task)] = (weakref.ref(task), plan, counts)
    return plan, counts


class FlawedAgent:
    """Replays the reference, but each flaw mode fires with its own rate.

    ``flaws`` maps mode names (:data:`FLAW_MODES`) to rates in [0, 1]. Per run, each mode draws
    once; among the modes that drew under their chance and that the task has room for, one is picked
    and planted. Draws are seeded by ``(seed, task id, attempt)``, so a run is reproducible and
    attempts differ.

    By default a rate is the chance per run, whatever the task (the demo traces' planted modes).
    With ``per_opportunity=True`` it is the chance per opportunity the task gives the mode (each
    lookup, each reformattable argument, each transient error, each step before the task is done;
    see :func:`~clawloop_synth.agents.opportunities`), so longer tasks with more lookups, arguments
    and transient errors are harder; ``distractor_load`` then raises every rate by that fraction per
    distractor entity in the task's state (more to keep apart, more slips).
    """

    def __init__(self, flaws: Mapping[str, float], seed: int = 0, name: str | None = None, *,
                 per_opportunity: bool = False, distractor_load: float = 0.0) -> None:
        unknown = sorted(set(flaws) - set(FLAW_MODES))
        if unknown:
            raise ValueError(f"unknown flaw mode(s) {unknown}; known: {list(FLAW_MODES)}")
        bad = [mode for mode, rate in flaws.items() if not 0.0 <= rate <= 1.0]
        if bad:
            raise ValueError(f"flaw rates must be in [0, 1]: {bad}")
        if distractor_load < 0.0:
            raise ValueError("distractor_load must be >= 0")
        if distractor_load and not per_opportunity:
            raise ValueError("distractor_load needs per_opportunity=True")
        self.flaws = {mode: float(flaws.get(mode, 0.0)) for mode in FLAW_MODES}
        self.seed = seed
        self.per_opportunity = per_opportunity
        self.distractor_load = float(distractor_load)
        self.name = name or "flawed-" + "-".join(f"{m}={r:g}" for m, r in self.flaws.items() if r > 0)

    def chances(self, task: TaskSpec) -> dict[str, float]:
        """Each mode's chance of firing in one run on ``task`` (0 where the task has no room for it)."""
        if not self.per_opportunity:
            return dict(self.flaws)
        counts = _plan_of(task)[1]
        load = 1.0 + self.distractor_load * task.features.distractors
        return {mode: fire_chance(self.flaws[mode], counts[mode], load) for mode in FLAW_MODES}

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        rng = random.Random(f"{self.seed}:{task.id}:{attempt}")
        draws = {mode: rng.random() for mode in FLAW_MODES}
        chances = self.chances(task) if any(self.flaws.values()) else self.flaws
        fired = [mode for mode in FLAW_MODES if draws[mode] < chances[mode]]
        rng.shuffle(fired)
        if fired:
            plan = _plan_of(task)[0]
            for mode in fired:
                script = build_flaw(mode, plan, rng)
                if script is not None:
                    return Episode(script, mode)
        return Episode(_reference_script(task))


# Per-opportunity rates of the graded population: from one slip in 250 chances to one in 15. On the
# generated airline tasks (8 to 19 opportunities) the agents' mean pass rates run from about 0.9 to
# 0.3; on the demo tasks (longer, with transient errors) from about 0.9 to 0.2.
PER_OPPORTUNITY_LEVELS: tuple[float, ...] = (0.004, 0.008, 0.014, 0.022, 0.032, 0.045, 0.065)
PER_RUN_LEVELS: tuple[float, ...] = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0)
DISTRACTOR_LOAD = 0.02  # 20 distractor entities make every slip 1.4 times as likely
TRANSIENT_WEIGHT = 5.0  # a transient error is a bigger event than a routine step: giving up is likelier


def scripted_population(seed: int = 0, levels: tuple[float, ...] | None = None, *, per_opportunity: bool = False
                        ) -> list[ReferenceAgent | FlawedAgent]:
    """The reference agent plus one flawed agent per skill level, for a graded offline population.

    Per run (the default, :data:`PER_RUN_LEVELS`): a level is the chance that a run draws a flaw at
    all; each mode's rate is ``level`` times a weight (seeded, so agents differ in which mistakes
    they favour); ``no_retry_after_transient`` weighs more since only tasks with a transient error
    leave room for it. Per opportunity (:data:`PER_OPPORTUNITY_LEVELS`): a level is the mean chance
    of a slip at one opportunity; each mode's rate is ``level`` times a seeded weight in [0.5, 1.5]
    (``no_retry_after_transient``: :data:`TRANSIENT_WEIGHT` times that), with
    :data:`DISTRACTOR_LOAD`; a task's difficulty then follows from its opportunities.
    """
    rng = random.Random(f"population:{seed}")
    agents: list[ReferenceAgent | FlawedAgent] = [ReferenceAgent()]
    if per_opportunity:
        for k, level in enumerate(levels or PER_OPPORTUNITY_LEVELS):
            rates = {mode: min(1.0, round(level * rng.uniform(0.5, 1.5)
                                          * (TRANSIENT_WEIGHT if mode == "no_retry_after_transient" else 1.0), 4))
                     for mode in FLAW_MODES}
            agents.append(FlawedAgent(rates, seed=seed * 1000 + k, name=f"flawed-{k + 1}", per_opportunity=True,
                                      distractor_load=DISTRACTOR_LOAD))
        return agents
    for k, level in enumerate(levels or PER_RUN_LEVELS):
        weights = {mode: rng.uniform(0.5, 1.5) * (4.0 if mode == "no_retry_after_transient" else 1.0)
                   for mode in FLAW_MODES}
        top = max(weights.values())
        # Rates scaled so the single likeliest mode fires at ``level``; the others at less.
        flaws = {mode: round(level * w / top, 3) for mode, w in weights.items()}
        agents.append(FlawedAgent(flaws, seed=seed * 1000 + k, name=f"flawed-{k + 1}"))
    return agents
