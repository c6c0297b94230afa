"""The offline fit runs in one contained child: no sandbox worker per replay, limits hold, answers are checked."""

from __future__ import annotations

from typing import Any

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.induce import induce
from clawloop_synth.induce.contained import ContainedLimits, run_contained
from clawloop_synth.induce.stage import _from_answer
from clawloop_synth.sim import isolation
from clawloop_synth.sim.errors import SandboxError
from clawloop_synth.types import Message, ToolCall, Trace
from tests.induce.test_bank_traces import bank_traces


def spin(payload: Any) -> Any:
    """A target that never ends (the child's CPU limit must stop it)."""
    while True:
        pass


def compile_hostile(payload: Any) -> Any:
    """Inside the child every source still meets the sandbox policy, only without a worker per call."""
    from clawloop_synth.sim.sandbox import SandboxError, compile_handler

    handler = compile_handler("def invoke(state):\n    state['n'] = len(state)\n    return 'ok'\n")
    state: dict[str, Any] = {"a": 1}
    outcome = [handler.isolated, handler.run(state, {})[0], state["n"]]
    try:
        compile_handler("import os\ndef invoke(state):\n    return os.getcwd()\n")
    except SandboxError as exc:
        outcome.append(str(exc))
    return outcome


def test_induction_starts_no_sandbox_worker_in_the_host() -> None:
    # Regression: every candidate replay went to a worker process with the whole state crossing
    # per call (11 min for the airline traces); the fit now runs in one contained child.
    isolation.shutdown()
    before = isolation.workers_started()
    induced = induce(bank_traces(40))
    assert isolation.workers_started() == before
    assert induced.report["examples_reproduced"] == induced.report["examples_seen"]
    assert induced.writes == {"deposit", "withdraw", "freeze_account"}


def test_the_child_keeps_the_policy_and_runs_in_process() -> None:
    isolated, result, count, refusal = run_contained("tests.induce.test_contained:compile_hostile", None)
    assert (isolated, result, count) == (False, "ok", 1)
    assert "Import is not allowed" in refusal


def test_a_child_past_its_cpu_limit_is_one_sandbox_error() -> None:
    with pytest.raises(SandboxError, match="CPU time limit|wall-clock"):
        run_contained("tests.induce.test_contained:spin", None, ContainedLimits(cpu_seconds=1, wall_seconds=30))


def test_bad_input_found_in_the_child_is_an_input_error_here() -> None:
    call = ToolCall(id="c1", name="bad name!", arguments={})
    trace = Trace(id="t1", source="openai_chat", messages=[
        Message(role="user", content="hi"), Message(role="assistant", tool_calls=[call]),
        Message(role="tool", content="ok", tool_call_id="c1", name="bad name!")])
    with pytest.raises(InputError, match="cannot name a handler file"):
        induce([trace])


@pytest.mark.parametrize("answer", [
    [], {"tools": 3}, {"tools": [], "handlers": {}, "collections": {}, "aliases": {}, "report": {}, "relaxed": [],
                       "state": {}, "policy": 1},
    {"tools": [], "handlers": {"t": {"tool": "t", "kind": "k", "source": 5}}, "collections": {}, "aliases": {},
     "report": {}, "relaxed": [], "state": {}, "policy": ""},
])
def test_a_malformed_answer_from_the_child_is_refused(answer: Any) -> None:
    with pytest.raises(SandboxError, match="malformed"):
        _from_answer(answer, None)
