"""Replay recorded trajectories against a domain pack and measure how faithfully it simulates them.

For each trajectory, from a fresh copy of the pack's database: every recorded tool call runs
through the sandboxed handler in order and its result is compared with the recorded one (JSON
results by value, text results as strings); then the trajectory's gold actions run from another
fresh copy, and the two final states are compared, which is the outcome check tau-bench scores a
trajectory with. Together with the required outputs (each must appear in some assistant message,
tau-bench's rule) that gives a reward to set beside the recorded one.

"Fresh copy" is copy-on-touch: each run gets new top-level collections that share every entity
with the loaded database except the ones its calls name (and their links), which are deep-copied.
Handlers only change what their arguments lead to, and a fingerprint of the database taken before
and after the replay proves that nothing shared was written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from clawloop_synth.sim.pack import Call, DomainPack, State
from clawloop_synth.sim.sandbox import Handler, HandlerError, SandboxError, compile_handler
from clawloop_synth.types import Trace

__all__ = ["ReplayReport", "TraceReplay", "outputs_found", "rename_keys", "replay_trace", "replay_traces"]

MAX_MISMATCHES = 20


@dataclass
class TraceReplay:
    """One trajectory's replay: result counts, the simulated reward and the recorded one."""

    trace_id: str
    results_total: int = 0
    results_equal: int = 0
    equal_after_alias: int = 0
    outcome: bool = False
    outputs: bool = True
    reward: float = 0.0
    recorded_reward: float | None = None
    by_tool: dict[str, list[int]] = field(default_factory=dict)  # tool -> [equal, total]
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agrees(self) -> bool | None:
        return None if self.recorded_reward is None else self.reward == self.recorded_reward


@dataclass
class ReplayReport:
    """Figures over all trajectories; ``to_json`` is what ``sim replay --json`` prints."""

    tool_results_total: int = 0
    tool_results_equal: int = 0
    equal_only_after_key_alias: int = 0
    reward_agreement: float | None = None
    trajectories: int = 0
    trajectories_with_reward: int = 0
    rewards_agreeing: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0
    key_aliases: dict[str, str] = field(default_factory=dict)
    by_tool: dict[str, dict[str, int]] = field(default_factory=dict)
    reward_disagreements: list[str] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def equal_ratio(self) -> float:
        return self.tool_results_equal / self.tool_results_total if self.tool_results_total else 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["tool_results_equal_ratio"] = round(self.equal_ratio, 4)
        out["seconds"] = round(self.seconds, 3)
        out["load_seconds"] = round(self.load_seconds, 3)
        if self.reward_agreement is not None:
            out["reward_agreement"] = round(self.reward_agreement, 4)
        return out


def rename_keys(value: Any, aliases: Mapping[str, str]) -> Any:
    """``value`` with every dict key found in ``aliases`` renamed, at any depth."""
    if isinstance(value, dict):
        return {aliases.get(key, key): rename_keys(item, aliases) for key, item in value.items()}
    if isinstance(value, list):
        return [rename_keys(item, aliases) for item in value]
    return value


def outputs_found(outputs: Iterable[str], trace: Trace) -> bool:
    """Every required output appears in some assistant message (case and commas ignored)."""
    said = [(m.content or "").lower().replace(",", "") for m in trace.messages if m.role == "assistant"]
    return all(any(output.lower() in text for text in said) for output in outputs)


class _Runner:
    """Compiled handlers of a pack, run through the sandbox with recorded-style error texts."""

    def __init__(self, pack: DomainPack) -> None:
        self.handlers: dict[str, Handler | str] = {}
        for spec in pack.tools:
            try:
                self.handlers[spec.name] = compile_handler(spec.handler)
            except SandboxError as exc:
                self.handlers[spec.name] = f"Error: tool {spec.name} is unavailable: {exc}"

    def run(self, state: State, name: str, args: Mapping[str, Any]) -> tuple[Any, str]:
        handler = self.handlers.get(name)
        if handler is None:
            return None, f"Error: unknown tool '{name}'"
        if isinstance(handler, str):
            return None, handler
        try:
            return handler.run(state, dict(args))
        except HandlerError as exc:
            return None, f"Error: {exc.message}"
        except SandboxError as exc:
            return None, f"Error: {exc}"


def _same(value: Any, text: str, recorded: str, aliases: Mapping[str, str]) -> tuple[bool, bool]:
    """(equal, equal only after renaming keys) for one result against the recorded text."""
    if value is None or isinstance(value, str):
        return text == recorded, False
    try:
        expected = orjson.loads(recorded)
    except orjson.JSONDecodeError:
        return False, False
    if value == expected:
        return True, False
    if aliases and rename_keys(value, aliases) == expected:
        return True, True
    return False, False


def replay_trace(trace: Trace, pack: DomainPack, base: State, runner: _Runner | None = None) -> TraceReplay:
    """Replay one trajectory and its gold actions from copies of ``base`` (which stays unchanged)."""
    runner = runner or _Runner(pack)
    steps = [step for step in trace.tool_steps() if step.result is not None]
    agent_calls: list[Call] = [(step.call.name, step.call.arguments) for step in steps]
    gold_calls: list[Call] = [(action.name, action.arguments) for action in trace.gold_actions or []]
    refs = pack.touched(base, agent_calls + gold_calls)
    out = TraceReplay(trace_id=trace.id, recorded_reward=trace.reward)
    aliases = pack.recorded_key_aliases

    agent_state = pack.working_copy(base, refs)
    for index, step in enumerate(steps):
        value, text = runner.run(agent_state, step.call.name, step.call.arguments)
        assert step.result is not None
        equal, via_alias = _same(value, text, step.result, aliases)
        out.results_total += 1
        out.results_equal += equal
        out.equal_after_alias += via_alias
        counts = out.by_tool.setdefault(step.call.name, [0, 0])
        counts[0] += equal
        counts[1] += 1
        if not equal:
            got, recorded = text[:300], step.result[:300]
            out.mismatches.append(
                {"trace": trace.id, "step": index, "tool": step.call.name, "got": got, "recorded": recorded}
            )
    gold_state = pack.working_copy(base, refs)
    for name, args in gold_calls:
        runner.run(gold_state, name, args)
    out.outcome = agent_state == gold_state
    out.outputs = outputs_found(trace.gold_outputs, trace)
    out.reward = 1.0 if out.outcome and out.outputs else 0.0
    return out


def _fingerprint(state: State) -> bytes:
    return hashlib.blake2b(orjson.dumps(state), digest_size=16).digest()


def replay_traces(traces: Iterable[Trace], pack: DomainPack, base: State | None = None) -> ReplayReport:
    """Replay every trajectory against ``pack`` (its database loaded once unless ``base`` is given)."""
    report = ReplayReport(key_aliases=dict(pack.recorded_key_aliases))
    started = time.perf_counter()
    if base is None:
        base = pack.load_state()
    before = _fingerprint(base)
    report.load_seconds = time.perf_counter() - started
    runner = _Runner(pack)
    started = time.perf_counter()
    replays = []
    for trace in traces:
        replays.append(replay_trace(trace, pack, base, runner))
    report.seconds = time.perf_counter() - started
    if _fingerprint(base) != before:
        raise RuntimeError("a handler changed an entity the replay did not copy; widen the pack's links")
    for one in replays:
        trace_id = one.trace_id
        report.trajectories += 1
        report.tool_results_total += one.results_total
        report.tool_results_equal += one.results_equal
        report.equal_only_after_key_alias += one.equal_after_alias
        if one.agrees is not None:
            report.trajectories_with_reward += 1
            report.rewards_agreeing += bool(one.agrees)
            if not one.agrees:
                report.reward_disagreements.append(trace_id)
        for mismatch in one.mismatches:
            if len(report.mismatches) < MAX_MISMATCHES:
                report.mismatches.append(mismatch)
    if report.trajectories_with_reward:
        report.reward_agreement = report.rewards_agreeing / report.trajectories_with_reward
    for one in replays:
        for tool, (equal, total) in one.by_tool.items():
            counts = report.by_tool.setdefault(tool, {"equal": 0, "total": 0})
            counts["equal"] += equal
            counts["total"] += total
    report.by_tool = dict(sorted(report.by_tool.items()))
    return report
