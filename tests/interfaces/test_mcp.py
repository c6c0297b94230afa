"""`clawloop-synth serve`: a pack's tools over MCP (the `mcp` client SDK, stdio and streamable HTTP)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from clawloop_synth.sim import SimEnv
from clawloop_synth.sim.pack_folder import BUILTIN_DIR
from clawloop_synth.types import PlannedCall, TaskSpec
from tests.sim.test_sandbox_hostile import POLICY_CASES, RUNTIME_CASES

pytest.importorskip("mcp")

SERVE = [sys.executable, "-m", "clawloop_synth", "serve"]


def pack_schemas(folder: Path) -> list[dict[str, Any]]:
    """The pack's tools.json as (name, description, parameters)."""
    return [{"name": t["function"]["name"], "description": t["function"]["description"],
             "parameters": t["function"]["parameters"]} for t in json.loads((folder / "tools.json").read_text())]


def listed(result: Any) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "parameters": t.input_schema} for t in result.tools]


def simenv_results(task: TaskSpec, calls: list[PlannedCall]) -> list[tuple[str, bool]]:
    env = SimEnv(task)
    return [(r.content, r.is_error) for r in (env.step(call) for call in calls)]


async def replay(client: Any, calls: list[PlannedCall]) -> list[tuple[str, bool]]:
    out = []
    for call in calls:
        result = await client.call_tool(call.name, call.arguments)
        out.append((result.content[0].text, bool(result.is_error)))
    return out


def stdio(args: list[str], env: dict[str, str]) -> Any:
    from mcp import StdioServerParameters, stdio_client

    return stdio_client(StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], *args], env=env))


def read_traces(folder: Path) -> list[Any]:
    from clawloop_synth.ingest import iter_traces

    return list(iter_traces([folder]))


def test_stdio_lists_the_pack_tools_and_replays_the_reference_like_simenv(
        demo_tasks: list[TaskSpec], demo_tasks_file: Path, tmp_path: Path, child_env: dict[str, str]) -> None:
    from mcp import Client

    task = next(t for t in demo_tasks if any(c.name == "book_appointment" for c in t.reference.calls))
    traces = tmp_path / "traces"

    async def session() -> tuple[list[dict[str, Any]], list[tuple[str, bool]]]:
        args = ["demo", "--tasks", str(demo_tasks_file), "--task", task.id, "--traces", str(traces)]
        async with Client(stdio(args, child_env)) as client:
            return listed(await client.list_tools()), await replay(client, task.reference.calls)

    tools, results = anyio.run(session)
    assert tools == pack_schemas(BUILTIN_DIR / "demo")
    expected = simenv_results(task, task.reference.calls)
    assert results == expected
    assert any(is_error for _, is_error in expected) or len(expected) >= 3  # a real episode, not a one-liner

    # The session comes back as a trace that ingest reads: the same calls, with the results the client saw.
    [trace] = read_traces(traces)
    assert trace.task_id == task.id and trace.domain == "demo"
    steps = trace.tool_steps()
    assert [(s.call.name, s.call.arguments) for s in steps] == [(c.name, c.arguments) for c in task.reference.calls]
    assert [s.result for s in steps] == [text for text, _ in expected]
    assert trace.messages[0].role == "system" and trace.messages[0].content == task.policy
    assert trace.reward is None  # not finished: no answer was given


def test_http_sessions_each_get_their_own_episode_and_a_reward(
        demo_tasks: list[TaskSpec], demo_workdir: Path, tmp_path: Path, child_env: dict[str, str]) -> None:
    from mcp import Client

    task = next(t for t in demo_tasks if any(c.name == "book_appointment" for c in t.reference.calls))
    traces = tmp_path / "traces"
    process = subprocess.Popen([*SERVE, "demo", "-w", str(demo_workdir), "--task", task.id, "--transport", "http",
                                "--port", "0", "--episode-tools", "--traces", str(traces)],
                               env=child_env, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline() if process.stderr else ""
        found = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", line)
        assert found, line
        url = found.group(1)

        async def session() -> tuple[list[dict[str, Any]], list[tuple[str, bool]], Any]:
            async with Client(url) as client:
                tools = listed(await client.list_tools())
                results = await replay(client, task.reference.calls)
                finished = await client.call_tool("clawloop_finish", {"answer": task.reference.answer})
                return tools, results, json.loads(finished.content[0].text)

        first, second = anyio.run(session), anyio.run(session)
    finally:
        process.terminate()
        process.wait(timeout=30)
    tools, results, outcome = first
    assert tools[:-2] == pack_schemas(BUILTIN_DIR / "demo")
    assert [t["name"] for t in tools[-2:]] == ["clawloop_reset", "clawloop_finish"]
    expected = simenv_results(task, task.reference.calls)
    assert results == expected
    assert outcome["reward"] == 1.0 and all(check["passed"] for check in outcome["checks"])
    # The second session starts from the task's initial state: had it shared the first one's, its booking
    # would meet an already-taken slot and its results would differ.
    assert second[1] == expected and second[2]["reward"] == 1.0

    traces_read = read_traces(traces)
    assert len(traces_read) == 2 and {t.reward for t in traces_read} == {1.0}
    assert len({t.metadata["session"] for t in traces_read}) == 2


def test_reset_and_a_failing_exemplar_over_mcp(demo_tasks: list[TaskSpec], demo_tasks_file: Path, tmp_path: Path,
                                               child_env: dict[str, str]) -> None:
    from mcp import Client

    task = demo_tasks[0]
    exemplar = task.failure_exemplar
    assert exemplar is not None

    async def session() -> tuple[Any, Any]:
        args = ["demo", "--tasks", str(demo_tasks_file), "--task", task.id, "--episode-tools",
                "--traces", str(tmp_path / "traces")]
        async with Client(stdio(args, child_env)) as client:
            await replay(client, exemplar.calls)
            failed = json.loads((await client.call_tool("clawloop_finish", {"answer": exemplar.answer}))
                                .content[0].text)
            await client.call_tool("clawloop_reset", {})
            await replay(client, task.reference.calls)
            passed = json.loads((await client.call_tool("clawloop_finish", {"answer": task.reference.answer}))
                                .content[0].text)
            return failed, passed

    failed, passed = anyio.run(session)
    assert failed["reward"] == 0.0 and not all(c["passed"] for c in failed["checks"])
    assert passed["reward"] == 1.0  # reset gave back the initial state
    assert sorted(t.reward for t in read_traces(tmp_path / "traces")) == [0.0, 1.0]


RUNTIME = {case[0]: case[1] for case in RUNTIME_CASES}
POLICY = {case[0]: case[1] for case in POLICY_CASES}
# Cases of the sandbox's own hostile-handler tests, planted in a copy of the demo pack (a user's pack: isolated).
HOSTILE = {"get_patient": RUNTIME["endless-loop"], "list_doctors": POLICY["open"],
           "get_appointment": RUNTIME["memory-bomb"]}


def contained(results: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Results with the time limit's mechanism left out: the CPU timer, RLIMIT_CPU or (on a loaded machine) the
    parent's wall-clock guard may stop an endless loop first."""
    pattern = r"(CPU time|wall-clock) limit.*\(handler"
    return [(re.sub(pattern, "time limit (handler", text), error) for text, error in results]


def test_hostile_handlers_of_a_user_pack_stay_contained_as_in_simenv(tmp_path: Path, child_env: dict[str, str]) -> None:
    from mcp import Client

    from clawloop_synth.interfaces.binding import pack_task

    pack = tmp_path / "hostile-pack"
    shutil.copytree(BUILTIN_DIR / "demo", pack)
    for tool, source in HOSTILE.items():
        (pack / "handlers" / f"{tool}.py").write_text(source)
    calls = [PlannedCall(name="get_patient", arguments={"patient_id": "P-1001"}),
             PlannedCall(name="list_doctors", arguments={"specialty": "cardiology"}),
             PlannedCall(name="get_appointment", arguments={"appointment_id": "A-5001"}),
             PlannedCall(name="find_patient", arguments={"name": "Nobody Here", "date_of_birth": "1990-01-01"})]
    expected = simenv_results(pack_task(pack), calls)
    assert all(is_error for _, is_error in expected[:3])  # contained, as errors the agent sees
    assert re.search("(CPU time|wall-clock) limit", expected[0][0]) and "'open'" in expected[1][0] and "memory" in expected[2][0]

    async def session() -> tuple[list[tuple[str, bool]], list[dict[str, Any]]]:
        async with Client(stdio([str(pack), "--traces", str(tmp_path / "traces")], child_env)) as client:
            results = await replay(client, calls)
            return results, listed(await client.list_tools())  # the server still answers afterwards

    results, tools = anyio.run(session)
    assert contained(results) == contained(expected)
    assert results[1:] == expected[1:]  # the policy refusal, the memory limit and a normal call: the same text
    assert tools == pack_schemas(pack)
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
