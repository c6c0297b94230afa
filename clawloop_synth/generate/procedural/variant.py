"""A failure variant of a base task, and the simulator runs and mutations the injectors share."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from clawloop_synth.generate.procedural.base import BaseTask, scratch_task
from clawloop_synth.generate.procedural.mutate import Siblings, fabricate, leaves, nudges, reformat
from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.types import PlannedCall, Solution, ToolSpec

__all__ = ["GIVE_UP", "Hook", "Injector", "Variant", "last_write", "mutations", "probe_call", "run_calls"]

GIVE_UP = "I'm sorry, I wasn't able to complete your request right now. Please contact us again later."


@dataclass
class Variant:
    """A base task with a failure condition on its path and the exemplar that falls for it."""

    instruction: str
    state: dict[str, Any]
    tools: list[ToolSpec]
    reference: Solution
    exemplar: Solution
    note: str


Injector = Callable[[BaseTask, random.Random], Variant | None]
Hook = Callable[[BaseTask, random.Random], tuple[dict[str, Any], int, PlannedCall, str, str] | None]
"""A kit hook: (new state, index of the reference call to replace, the wrong call, wrong label, right label)."""


def run_calls(base: BaseTask, calls: list[PlannedCall], state: dict[str, Any] | None = None,
              tools: list[ToolSpec] | None = None) -> list[ToolResult]:
    """The results of ``calls`` run in a fresh simulator on ``state`` (default: the base task's)."""
    env = SimEnv(scratch_task(tools or base.tools, state if state is not None else base.state),
                 max_steps=len(calls) + 1)
    return [env.step(call) for call in calls]


def probe_call(base: BaseTask, index: int, call: PlannedCall, state: dict[str, Any] | None = None) -> ToolResult:
    """The result of ``call`` in place of the reference's call ``index``."""
    return run_calls(base, [*base.calls[:index], call], state)[-1]


def mutations(base: BaseTask, call: PlannedCall, rng: random.Random, kinds: str) -> list[tuple[Any, Any, Any]]:
    """(path, old, new) mutations of ``call``: s=siblings, n=nudges, f=fabricated, r=reformat, e=enum."""
    avoid = orjson.dumps(base.state).decode()
    spec = next((t for t in base.tools if t.name == call.name), None)
    props = spec.parameters.get("properties", {}) if spec else {}
    out: list[tuple[Any, Any, Any]] = []
    held: Siblings | None = None  # one walk of the state for all the call's string leaves
    for path, old in leaves(call.arguments):
        if not path:
            continue
        options: list[Any] = []
        if "e" in kinds and isinstance(path[0], str) and len(path) == 1:
            options += [v for v in props.get(path[0], {}).get("enum", []) if v != old]
        if "s" in kinds and isinstance(old, str):
            held = held or Siblings(base.state)
            options += held.of(old)
        if "n" in kinds and isinstance(old, int | float):
            options += nudges(old)
        if "f" in kinds and isinstance(old, str) and (new := fabricate(old, rng, avoid)) is not None:
            options.append(new)
        if "r" in kinds:
            options += reformat(old)
        rng.shuffle(options)
        out.extend((path, old, new) for new in options[:12])
    rng.shuffle(out)
    return out


def last_write(base: BaseTask) -> int | None:
    """The index of the reference's last write (None: it writes nothing)."""
    writes = base.write_indices()
    return writes[-1] if writes else None
