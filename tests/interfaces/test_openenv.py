"""`export -f openenv`: the tasks behind OpenEnv's reset / step / state, driven through OpenEnv's client."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.sim import SimEnv
from clawloop_synth.types import TaskSpec

pytest.importorskip("openenv")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, demo_workdir: Path) -> Path:
    from clawloop_synth.export import export_tasks

    out = tmp_path_factory.mktemp("openenv") / "export"
    summary = export_tasks(demo_workdir, "openenv", out, workdir_summary=False)
    assert summary["exported"] == summary["tasks"] == 6
    return out / "environment"


@pytest.fixture(scope="module")
def server_url(exported: Path) -> Iterator[str]:
    """The exported folder's ``server.app:app`` (what openenv.yaml names) served by uvicorn on 127.0.0.1."""
    import uvicorn

    spec = importlib.util.spec_from_file_location("exported_openenv_app", exported / "server" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(module.app, log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


def test_exported_folder_has_the_layout_openenv_expects(exported: Path) -> None:
    config = (exported / "openenv.yaml").read_text()
    assert "app: server.app:app" in config and "runtime: fastapi" in config
    assert len((exported / "tasks.jsonl").read_text().splitlines()) == 6
    assert 'dependencies = ["clawloop-synth[openenv]"]' in (exported / "pyproject.toml").read_text()


def play(url: str, task: TaskSpec, calls: list[Any], answer: str) -> tuple[Any, list[Any], Any, Any]:
    from clawloop_synth.interfaces.openenv_env import SimAction, SimEnvClient

    with SimEnvClient(base_url=url).sync() as env:
        opened = env.reset(task_id=task.id)
        steps = [env.step(SimAction(tool=call.name, arguments=call.arguments)) for call in calls]
        final = env.step(SimAction(answer=answer))
        return opened, steps, final, env.state()


def test_reset_the_reference_steps_and_reward_one_through_openenvs_client(server_url: str,
                                                                         demo_tasks: list[TaskSpec]) -> None:
    task = next(t for t in demo_tasks if len(t.reference.calls) >= 4)
    opened, steps, final, state = play(server_url, task, task.reference.calls, task.reference.answer)
    assert opened.observation.task_id == task.id and opened.observation.instruction == task.instruction
    assert opened.observation.system_prompt.startswith(task.policy)
    assert [t["function"]["name"] for t in opened.observation.tools] == [s.name for s in task.tools]
    env = SimEnv(task)
    assert [(s.observation.result, s.observation.is_error) for s in steps] == \
        [(r.content, r.is_error) for r in (env.step(c) for c in task.reference.calls)]
    assert not any(s.done for s in steps)
    assert final.done and final.reward == 1.0 and all(c["passed"] for c in final.observation.checks)
    assert state.task_id == task.id and state.calls == len(task.reference.calls) and state.final_reward == 1.0


def test_the_failure_exemplar_earns_less(server_url: str, demo_tasks: list[TaskSpec]) -> None:
    task = demo_tasks[1]
    assert task.failure_exemplar is not None
    _, _, final, _ = play(server_url, task, task.failure_exemplar.calls, task.failure_exemplar.answer)
    assert final.done and final.reward == 0.0
    assert any(not c["passed"] for c in final.observation.checks)


def test_bad_actions_are_error_observations_not_failures(server_url: str, demo_tasks: list[TaskSpec]) -> None:
    from clawloop_synth.interfaces.openenv_env import SimAction, SimEnvClient

    with SimEnvClient(base_url=server_url).sync() as env:
        env.reset(task_id=demo_tasks[0].id)
        unknown = env.step(SimAction(tool="no_such_tool", arguments={}))
        invalid = env.step(SimAction(tool="get_patient", arguments={"patient_id": 7}))
        empty = env.step(SimAction())
    assert unknown.observation.is_error and "unknown tool" in unknown.observation.result
    assert invalid.observation.is_error and "invalid arguments" in invalid.observation.result
    assert empty.observation.is_error and not empty.done
