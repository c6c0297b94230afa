"""tau-bench trajectories: a JSON list of ``{task_id, reward, info{task, reward_info, source}, traj, trial}``.

Gold actions, the user instruction and the required outputs are kept: the miner diffs the agent's
writes against the gold actions, and the simulator turns them into reference solutions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, normalize_messages
from clawloop_synth.ingest.jsonstream import iter_json_array
from clawloop_synth.ingest.records import make_trace, optional_reward
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["read_tau_bench", "tau_record"]

_DOMAIN_MARKERS = {"airline": "# Airline Agent Policy", "retail": "# Retail agent policy"}


def _domain(messages: list[dict[str, Any]]) -> str | None:
    system = next((m.get("content") or "" for m in messages if m["role"] == "system"), "")
    head = system[:200].lower()
    return next((name for name, marker in _DOMAIN_MARKERS.items() if marker.lower() in head), None)


_TASK_MAPPED = ("actions", "instruction", "outputs", "user_id")


def _rest(name: str, part: dict[str, Any], mapped: tuple[str, ...]) -> dict[str, Any]:
    """``{name: the fields of part that are not mapped}``, or nothing when there are none."""
    rest = {k: v for k, v in part.items() if k not in mapped and v is not None}
    return {name: rest} if rest else {}


def _outputs(raw: Any, where: Where) -> list[str]:
    """The required outputs: a list of strings or numbers (a string is not split into characters)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise where.error(f"outputs must be a list, got {type(raw).__name__}", "info.task.outputs")
    for i, output in enumerate(raw):
        if isinstance(output, bool) or not isinstance(output, str | int | float):
            raise where.error(f"an output must be text or a number, got {type(output).__name__}",
                              f"info.task.outputs[{i}]")
    return [str(output) for output in raw]


def tau_record(value: Any, where: Where) -> TraceRecord:
    if not isinstance(value, dict):
        raise where.error("record must be a JSON object")
    info = value.get("info")
    if not isinstance(info, dict):
        raise where.error("missing info object", "info")
    task = info.get("task")
    if not isinstance(task, dict):
        raise where.error("missing task object", "info.task")
    actions = task.get("actions")
    if not isinstance(actions, list):
        raise where.error("task has no actions list", "info.task.actions")
    gold = []
    for i, action in enumerate(actions):
        if not isinstance(action, dict) or not isinstance(action.get("name"), str):
            raise where.error("a gold action needs a name", f"info.task.actions[{i}].name")
        kwargs = action.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise where.error("gold action kwargs must be an object", f"info.task.actions[{i}].kwargs")
        gold.append({"name": action["name"], "arguments": kwargs})
    messages = normalize_messages(value.get("traj"), where, "traj")
    task_id, trial = value.get("task_id"), value.get("trial")
    reward_info: dict[str, Any] = info["reward_info"] if isinstance(info.get("reward_info"), dict) else {}
    if "actions" in reward_info:
        where.dropped.append("info.reward_info.actions")  # the gold actions again (kept from info.task)
    return make_trace(
        {
            "id": f"tau-{task_id}-trial{trial}",
            "source": "tau_bench",
            "task_id": None if task_id is None else str(task_id),
            "domain": _domain(messages),
            "messages": messages,
            "reward": optional_reward(value.get("reward"), where),
            "instruction": task.get("instruction"),
            "gold_actions": gold,
            "gold_outputs": _outputs(task.get("outputs"), where),
            "metadata": {
                "trial": trial,
                "user_id": task.get("user_id"),
                "ended_by": info.get("source"),
                "reward_details": reward_info.get("info"),
                **_rest("task", task, _TASK_MAPPED),
                **_rest("info", info, ("task", "reward_info", "source")),
                **_rest("reward_info", reward_info, ("info", "actions")),
            },
        },
        where,
        value,
        ("task_id", "reward", "info", "traj", "trial"),
    )


def read_tau_bench(path: Path) -> Iterator[TraceRecord | InputError]:
    for number, value in iter_json_array(path):
        if isinstance(value, InputError):
            yield value
            continue
        try:
            yield tau_record(value, Where(str(path), f"record {number}"))
        except InputError as exc:
            yield exc
