"""``SimEnv.rewind``: a state no call changed is kept, anything else starts from a fresh copy.

The handlers here are vouched for, so they run in-process on the live state: the path where a
handler can change the state in place or hand out a piece of it.
"""

from __future__ import annotations

from typing import Any

import pytest

from clawloop_synth.sim import SimEnv
from clawloop_synth.sim.trust import trust_sources
from clawloop_synth.types import PlannedCall, Provenance, Solution, TaskSpec, ToolSpec

_READ = '''
def invoke(state, key):
    # rewind test: hands out the live entity itself
    return state["items"][key]
'''
_TO_TRUE = '''
def invoke(state, key):
    # rewind test: 1 -> True compares equal in Python but is another JSON value
    state["items"][key]["n"] = True
    return "set"
'''
_FAIL = '''
def invoke(state, key):
    # rewind test: an answer that changes nothing
    return "Error: no " + key
'''
trust_sources([_READ, _TO_TRUE, _FAIL])

_KEY = {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"],
        "additionalProperties": False}


def _task() -> TaskSpec:
    tools = [ToolSpec(name="read", description="r", parameters=_KEY, handler=_READ),
             ToolSpec(name="to_true", description="t", parameters=_KEY, handler=_TO_TRUE, writes=True),
             ToolSpec(name="fail", description="f", parameters=_KEY, handler=_FAIL)]
    state: dict[str, Any] = {"items": {"a": {"n": 1}, "b": {"n": 2}}}
    return TaskSpec(id="rewind", domain="t", instruction="", tools=tools, initial_state=state,
                    reference=Solution(calls=[]), provenance=Provenance(generator="test"))


def _call(name: str, key: str = "a") -> PlannedCall:
    return PlannedCall(name=name, arguments={"key": key})


def test_a_state_no_call_changed_is_kept_and_the_episode_starts_over() -> None:
    env = SimEnv(_task(), max_steps=1, rewindable=True)
    kept = env.state
    env.step(PlannedCall(name="fail", arguments={"key": 3}))  # refused by the schema: no handler ran
    env.rewind()
    assert env.state is kept and env.calls == [] and env.steps == 0 and not env.over
    assert env.step(_call("fail")).is_error  # the handler ran and changed nothing
    env.rewind()
    assert env.state is kept
    assert env.step(_call("fail")).error_kind == "tool"  # not "step_limit": the step count started over


def test_a_change_that_compares_equal_is_still_undone() -> None:
    task = _task()
    env = SimEnv(task, max_steps=1, rewindable=True)
    env.step(_call("to_true"))
    assert env.state["items"]["a"]["n"] == 1  # True == 1: an equality test would keep this state
    env.rewind()
    assert env.state["items"]["a"]["n"] is not True and type(env.state["items"]["a"]["n"]) is int
    assert env.state == task.initial_state and env.state is not task.initial_state


def test_a_piece_of_the_state_held_outside_is_never_shared_with_the_next_episode() -> None:
    env = SimEnv(_task(), max_steps=1, rewindable=True)
    held = env.step(_call("read")).value
    assert held is env.state["items"]["a"]  # the live entity, as ToolResult.value allows
    env.rewind()
    held["n"] = 99  # the caller edits what it kept
    assert env.state["items"]["a"] == {"n": 1}


def test_rewind_needs_a_rewindable_episode() -> None:
    with pytest.raises(ValueError, match="rewindable"):
        SimEnv(_task()).rewind()
