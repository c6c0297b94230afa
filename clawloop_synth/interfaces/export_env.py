"""The ``verifiers`` and ``openenv`` export formats: an installable environment folder beside the dataset.

``environment/`` holds a ``pyproject.toml``, the tasks as ``tasks.jsonl`` (one TaskSpec a line, the
same tasks as the dataset's splits together) and the code that serves them:

- verifiers: a package ``MODULE/`` whose ``__init__`` exports a taskset (:class:`SimTaskset` over its
  ``tasks.jsonl``), the :class:`LocalChatHarness` and ``load_environment()``; verifiers resolves it by
  id (``vf.load_environment(vf.resolve_env_config({"taskset": {"id": MODULE}}))``, ``vf-eval MODULE``).
- openenv: OpenEnv's layout: ``openenv.yaml`` naming ``server.app:app``, ``server/app.py`` (the app
  from :func:`create_sim_app`) and ``client.py`` (the client, action and observation classes).

Neither writer imports its library: the files import it when they run.
"""

from __future__ import annotations

import re
from pathlib import Path

from clawloop_synth.types import TaskSpec

__all__ = ["ENV_FORMATS", "module_name", "write_environment"]

ENV_FORMATS = ("verifiers", "openenv")

_PYPROJECT = '''[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.1.0"
description = "{count} clawloop-synth tool-use tasks as a {what} environment"
requires-python = ">=3.11"
dependencies = ["clawloop-synth[{extra}]"]
{scripts}
[tool.hatch.build.targets.wheel]
packages = [{packages}]
'''

_VERIFIERS_INIT = '''"""verifiers environment: {count} clawloop-synth tool-use tasks (tasks.jsonl beside this file).

Each rollout's tools run in clawloop-synth's sandboxed simulator (a fresh SimEnv per rollout), the
system prompt is the pack's policy and the reward is the task's checks (per-check metrics too).

    import {module}
    env = {module}.load_environment()          # or: vf-eval {module} (harness: this module's own)
    env = {module}.load_environment(harness="null")   # verifiers' chat loop in a uv-built environment
"""

from pathlib import Path

from clawloop_synth.interfaces.verifiers_env import LocalChatHarness, SimTaskset, environment_config


class Tasks(SimTaskset):
    TASKS_FILE = Path(__file__).with_name("tasks.jsonl")


def load_environment(harness=None, **env):
    """The verifiers Env over these tasks (``harness``: a harness id other than LocalChatHarness)."""
    import verifiers.v1 as vf

    return vf.load_environment(environment_config(__name__, harness, **env))


__all__ = ["LocalChatHarness", "Tasks", "load_environment"]
'''

_OPENENV_YAML = '''spec_version: 1
name: {name}
type: space
runtime: fastapi
app: server.app:app
port: 8000
'''

_OPENENV_APP = '''"""OpenEnv server for {count} clawloop-synth tasks (../tasks.jsonl): reset / step / state, /ws.

    uvicorn server.app:app --host 127.0.0.1 --port 8000     # or: python -m server.app --port 8000
"""

from pathlib import Path

from clawloop_synth.interfaces.openenv_env import create_sim_app

app = create_sim_app(Path(__file__).resolve().parents[1] / "tasks.jsonl")


def main(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    options = parser.parse_args()
    main(options.host, options.port)
'''

_OPENENV_CLIENT = '''"""Client for this environment's server.

    with SimEnvClient(base_url="http://127.0.0.1:8000").sync() as env:
        result = env.reset(task_id=...)
"""

from clawloop_synth.interfaces.openenv_env import SimAction, SimEnvClient, SimObservation, SimState

__all__ = ["SimAction", "SimEnvClient", "SimObservation", "SimState"]
'''


def module_name(tasks: list[TaskSpec]) -> str:
    """The environment's Python name: ``clawloop_tasks_<domain>`` (one domain), else ``clawloop_tasks``."""
    domains = sorted({task.domain for task in tasks})
    suffix = re.sub(r"\W+", "_", domains[0]).strip("_").lower() if len(domains) == 1 else ""
    return "clawloop_tasks" + (f"_{suffix}" if suffix else "")


def write_environment(fmt: str, folder: Path, tasks: list[TaskSpec]) -> Path:
    """Write ``fmt``'s environment for ``tasks`` into ``folder`` (created); returns it."""
    if fmt not in ENV_FORMATS:
        raise ValueError(f"no environment for format {fmt!r}")
    name = module_name(tasks)
    lines = "".join(task.model_dump_json() + "\n" for task in tasks)
    folder.mkdir(parents=True)
    if fmt == "verifiers":
        package = folder / name
        package.mkdir()
        (package / "tasks.jsonl").write_text(lines, encoding="utf-8")
        (package / "__init__.py").write_text(_VERIFIERS_INIT.format(count=len(tasks), module=name))
        pyproject = _PYPROJECT.format(dist=name.replace("_", "-"), count=len(tasks), what="verifiers",
                                      extra="verifiers", scripts="", packages=f'"{name}"')
    else:
        (folder / "tasks.jsonl").write_text(lines, encoding="utf-8")
        (folder / "openenv.yaml").write_text(_OPENENV_YAML.format(name=name))
        (folder / "server").mkdir()
        (folder / "server" / "__init__.py").write_text("")
        (folder / "server" / "app.py").write_text(_OPENENV_APP.format(count=len(tasks)))
        (folder / "client.py").write_text(_OPENENV_CLIENT)
        pyproject = _PYPROJECT.format(dist=name.replace("_", "-"), count=len(tasks), what="OpenEnv",
                                      extra="openenv", scripts='\n[project.scripts]\nserver = "server.app:main"\n',
                                      packages='"server"')
    (folder / "pyproject.toml").write_text(pyproject)
    return folder
