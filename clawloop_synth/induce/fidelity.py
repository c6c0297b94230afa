"""How many recorded examples a handler source reproduces, run in the sandbox on each example's state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.reads import same_value
from clawloop_synth.sim.pack import find_keys
from clawloop_synth.sim.sandbox import Handler, HandlerError, SandboxError, compile_handler
from clawloop_synth.sim.state import copy_state

__all__ = ["reproduces", "run_handler", "working_state"]


def working_state(pre: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """A state sharing ``pre``'s entities except those the arguments name and their links (copied)."""
    refs = find_keys(dict(pre), dict(args))
    for name, keys in list(refs.items()):
        table = pre[name]
        for key in list(keys):
            for more_name, more in find_keys(dict(pre), table[key]).items():
                refs.setdefault(more_name, set()).update(more)
    state: dict[str, Any] = {}
    for name, table in pre.items():
        if not isinstance(table, dict):
            state[name] = copy_state(table)
            continue
        fresh = dict(table)
        for key in refs.get(name, ()):
            fresh[key] = copy_state(table[key])
        state[name] = fresh
    return state


def run_handler(handler: Handler, state: dict[str, Any], args: Mapping[str, Any]) -> tuple[Any, str]:
    """The handler's (value, text), errors as the ``Error: ...`` text a replay shows."""
    try:
        return handler.run(state, dict(args))
    except HandlerError as exc:
        return None, f"Error: {exc.message}"
    except SandboxError as exc:
        return None, f"Error: {exc}"


def matches(value: Any, text: str, example: Example, aliases: Mapping[str, str]) -> bool:
    """Whether a handler's answer equals the recorded result (JSON-normalized)."""
    if value is None or isinstance(value, str):
        return text == example.text
    return same_value(value, example.value, aliases)


def reproduces(source: str, examples: Sequence[Example], aliases: Mapping[str, str]) -> tuple[list[bool], int]:
    """Per example, whether ``source`` run on its state gives the recorded result; and how many
    entity changes that the recording shows after a call the run made as shown."""
    try:
        handler = compile_handler(source)
    except SandboxError:
        return [False] * len(examples), 0
    out = []
    changes = 0
    for example in examples:
        pre = example.pre or {}
        state = working_state(pre, example.args)
        value, text = run_handler(handler, state, example.args)
        out.append(matches(value, text, example, aliases))
        for where, after in example.post.items():
            name, key = where.split("\x00", 1)
            table = pre.get(name)
            before = table.get(key) if isinstance(table, dict) else None
            if before != after and state.get(name, {}).get(key) == after:
                changes += 1
    return out, changes
