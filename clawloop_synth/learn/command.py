"""The ``command`` learner: the user's own trainer, run as ``cmd:python train.py {train_dir} {out_dir}``.

Each ``train`` call exports every training task seen so far to ``{train_dir}/tasks.jsonl`` (one
:class:`~clawloop_synth.learn.view.TaskView` per line, reference runs included: the same stripped view every
learner gets) and runs the command. The trainer answers by writing ``{out_dir}/endpoint.json``:
``{"api_base": "http://.../v1", "model": "openai/NAME"}`` (``api_key`` optional). It may exit after writing it
(the endpoint lives elsewhere) or keep serving: it is stopped when the next ``train`` starts or on ``close``.
The tasks are then played by the ``llm`` agent against that endpoint (no playbook, no demonstrations: what was
learned is in the endpoint).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from clawloop_synth.errors import InputError
from clawloop_synth.learn.llm import LLMLearner
from clawloop_synth.learn.protocol import AgentEnv, TrainRunner
from clawloop_synth.learn.view import TaskView
from clawloop_synth.llm import LLMConfig
from clawloop_synth.types import Rollout

__all__ = ["CommandLearner", "export_views"]

ENDPOINT = "endpoint.json"


def export_views(views: Sequence[TaskView], folder: Path) -> Path:
    """Write ``views`` as ``folder/tasks.jsonl`` (the dataset a command learner is handed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tasks.jsonl"
    with path.open("w") as f:
        for view in views:
            f.write(view.model_dump_json() + "\n")
    return path


class CommandLearner:
    """Runs the user's trainer on an exported dataset; plays through the endpoint it answers with."""

    name = "command"

    def __init__(self, command: str, workdir: Path, *, timeout: float = 3600.0, max_turns: int = 12,
                 seed: int = 0) -> None:
        self._proc: subprocess.Popen[bytes] | None = None  # first: __del__ reads it even when this raises
        if "{train_dir}" not in command or "{out_dir}" not in command:
            raise InputError(f"the command {command!r} must name {{train_dir}} and {{out_dir}}", field="learner")
        self.command = command
        self.workdir = Path(workdir)
        self.timeout = timeout
        self.max_turns = max_turns
        self.seed = seed
        self.seen: list[TaskView] = []
        self.endpoint: dict[str, str] | None = None
        self.rounds = 0
        self._agent: LLMLearner | None = None

    def close(self) -> None:
        """Stop a trainer that is still serving."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __del__(self) -> None:
        self.close()

    def train(self, tasks: Sequence[TaskView], runner: TrainRunner | None = None) -> None:
        self.close()
        self.seen.extend(t for t in tasks if t.demonstration is not None)
        base = self.workdir / f"seed{self.seed}-round{self.rounds}"
        train_dir, out_dir = base / "train", base / "out"
        export_views(self.seen, train_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / ENDPOINT).unlink(missing_ok=True)
        self.rounds += 1
        argv = shlex.split(self.command.format(train_dir=str(train_dir), out_dir=str(out_dir)))
        log = (base / "command.log").open("wb")
        try:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "CLAWLOOP_SEED": str(self.seed)})
        except OSError as exc:
            raise InputError(f"cannot run the learner command {argv[0]!r}: {exc}", field="learner") from exc
        finally:
            log.close()
        deadline = time.monotonic() + self.timeout
        endpoint = out_dir / ENDPOINT
        while not endpoint.exists():
            code = self._proc.poll()
            if code is not None and not endpoint.exists():
                self._proc = None
                raise InputError(f"the learner command exited with {code} without writing {endpoint} "
                                 f"(its output: {base / 'command.log'})", field="learner")
            if time.monotonic() > deadline:
                self.close()
                raise InputError(f"the learner command wrote no {endpoint} within {self.timeout:.0f} s",
                                 field="learner")
            time.sleep(0.05)
        time.sleep(0.05)  # the file is written; let the writer finish it
        try:
            answer = json.loads(endpoint.read_text())
            self.endpoint = {"api_base": str(answer["api_base"]), "model": str(answer["model"]),
                             **({"api_key": str(answer["api_key"])} if answer.get("api_key") else {})}
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{endpoint}: needs JSON with 'api_base' and 'model' ({exc})", file=str(endpoint),
                             field="api_base") from exc
        config = LLMConfig(self.endpoint["model"], api_base=self.endpoint["api_base"],
                           api_key=self.endpoint.get("api_key"), temperature=0.0, max_retries=1, retry_wait=0.05)
        self._agent = LLMLearner(config, demos=0, lessons=0, distill=False, max_turns=self.max_turns,
                                 seed=self.seed)

    def play(self, task: TaskView, env: AgentEnv) -> Rollout:
        if self._agent is None:  # untrained: there is no endpoint yet, so nothing answers
            return env.finish("")
        return self._agent.play(task, env)
