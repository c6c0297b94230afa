"""Degraded simulators for ``experiment fidelity``, and their fidelity measured against the true one.

- an induced simulator: the training tasks with each tool's handler replaced by the one a pack induced from a
  share of the traces has (the tool schemas stay the true ones, so the learner reads the same tools; only what
  the simulator answers changes; a tool the induced pack lacks answers an error);
- result noise: the true simulator, with each result the learner reads altered with probability ``rate`` (one
  scalar of a JSON result replaced by a wrong value of its type); the state is never touched.

Fidelity is the share of the reference calls of the training tasks, replayed in order, whose result in the
degraded simulator equals the true one (JSON-equal), the way ``induce_fidelity`` counts exact replays.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from clawloop_synth.learn.protocol import Noise
from clawloop_synth.sim.env import SimEnv
from clawloop_synth.types import TaskSpec, ToolSpec

__all__ = ["ResultNoise", "fidelity", "rebind"]


def _missing(tool: str) -> str:
    return f'def invoke(state, **args):\n    return "Error: {tool} is not available"\n'


def rebind(tasks: Sequence[TaskSpec], handlers: dict[str, str]) -> list[TaskSpec]:
    """``tasks`` run by ``handlers`` (tool name -> handler source) instead of their own."""
    out = []
    for task in tasks:
        tools = [ToolSpec(name=t.name, description=t.description, parameters=t.parameters,
                          handler=handlers.get(t.name) or _missing(t.name), writes=t.writes) for t in task.tools]
        out.append(task.model_copy(update={"tools": tools}))
    return out


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, path + (k,))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, path + (i,))]
    return [(path, value)] if value is not None and path else []


def _wrong(value: Any, others: list[Any], rng: random.Random) -> Any:
    """A different value of the same type (another leaf of the result when one differs)."""
    if isinstance(value, bool):
        return not value
    same = [o for o in others if type(o) is type(value) and o != value]
    if same and rng.random() < 0.5:
        return rng.choice(same)
    if isinstance(value, int):
        return value + rng.choice([-1, 1]) * rng.randint(1, max(1, abs(value) // 2 or 1))
    if isinstance(value, float):
        return round(value * rng.uniform(0.5, 1.5) + 1.0, 2)
    text = str(value)
    chars = list(text)
    rng.shuffle(chars)
    shuffled = "".join(chars)
    return shuffled if shuffled != text else text + "X"


def _set(root: Any, path: tuple[Any, ...], value: Any) -> None:
    node = root
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


class ResultNoise:
    """Each JSON result altered with probability ``rate``, seeded per episode (a :data:`Noise`)."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.seed = seed

    def __call__(self, trace_id: str) -> Callable[[str, str, bool], tuple[str, bool]]:
        digest = hashlib.sha256(f"noise:{self.seed}:{trace_id}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))

        def perturb(tool: str, content: str, is_error: bool) -> tuple[str, bool]:
            if is_error or rng.random() >= self.rate:
                return content, is_error
            try:
                value = json.loads(content)
            except ValueError:
                return content, is_error
            leaves = _leaves(value)
            if not leaves:
                return content, is_error
            path, old = rng.choice(leaves)
            _set(value, path, _wrong(old, [v for _, v in leaves], rng))
            return json.dumps(value), is_error

        return perturb


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def fidelity(true_tasks: Sequence[TaskSpec], degraded: Sequence[TaskSpec] | None = None,
             noise: Noise | None = None) -> dict[str, Any]:
    """The share of reference calls whose result the degraded simulator gets right (see the module docstring)."""
    same = calls = 0
    for k, task in enumerate(true_tasks):
        other = degraded[k] if degraded is not None else task
        real, sim = SimEnv(task), SimEnv(other)
        real.reset()
        sim.reset()
        perturb = noise(f"fidelity:{task.id}") if noise is not None else None
        for call in task.reference.calls:
            want = real.step(call)
            got = sim.step(call)
            content = got.content
            if perturb is not None:
                content, _ = perturb(call.name, got.content, got.is_error)
            calls += 1
            same += int(_same(want.content, content))
    return {"calls": calls, "same": same, "fidelity": round(same / calls, 4) if calls else None}
