"""Policy as code: run a pack's rules on a call, on the state before it.

A rule is sandboxed source defining ``def check(state, call) -> str | None`` (``call`` is
``{"name": ..., "arguments": {...}}``); it returns why the call breaks the policy, or None. A rule may
name the tools it judges with a top-level literal ``tools = ["cancel_reservation", ...]``; it then runs
only on those calls (read from the syntax tree, never by running the source). Rules compile and run
through the same sandbox entry as tool handlers: shipped packs' rules in-process, any other rule
(from a user's pack, an LLM, induction) in a worker process, on a copy of the state so that a rule
can never change the episode.

A rule that raises or hits a limit yields a violation that says so: the call could not be judged, and
a task whose reference cannot be judged is not one to train on.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clawloop_synth.sim.errors import SandboxError
from clawloop_synth.sim.sandbox import Handler, Limits, compile_handler
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import CheckResult, PolicyRule

__all__ = ["RuleSet", "Violation", "pack_rules", "policy_check", "replay_violations", "rule_tools"]

_MAX_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class Violation:
    """Call number ``step`` (0-based, in the episode's calls) to ``tool`` broke ``rule``: ``message``."""

    step: int
    tool: str
    rule: str
    message: str

    def text(self) -> str:
        return f"call {self.step + 1} ({self.tool}) breaks {self.rule}: {self.message}"


@functools.lru_cache(maxsize=1024)
def rule_tools(source: str) -> frozenset[str] | None:
    """The tools a rule names in a top-level ``tools = [...]`` literal (None: it judges every call)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "tools"):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                return None
            if isinstance(value, list | tuple | set) and all(isinstance(v, str) for v in value):
                return frozenset(value)
            return None
    return None


@dataclass(slots=True)
class _Rule:
    name: str
    tools: frozenset[str] | None
    handler: Handler | None
    problem: str | None


class RuleSet:
    """A task's compiled rules; :meth:`check` judges one call."""

    def __init__(self, rules: Iterable[PolicyRule]) -> None:
        self._rules: list[_Rule] = []
        for rule in rules:
            try:
                handler, problem = compile_handler(rule.source, entry="check"), None
            except SandboxError as exc:
                handler, problem = None, str(exc)
            self._rules.append(_Rule(rule.name, rule_tools(rule.source), handler, problem))

    def __bool__(self) -> bool:
        return bool(self._rules)

    def handlers(self) -> list[Handler]:
        """The compiled rules' handlers (a rule that failed to compile has none)."""
        return [rule.handler for rule in self._rules if rule.handler is not None]

    def check(self, state: Any, name: str, arguments: dict[str, Any], step: int,
              limits: Limits | None = None) -> list[Violation]:
        """The violations of call ``name(arguments)`` on ``state`` (the state before the call)."""
        out: list[Violation] = []
        call = {"name": name, "arguments": arguments}
        for rule in self._rules:
            if rule.tools is not None and name not in rule.tools:
                continue
            if rule.handler is None:
                out.append(Violation(step, name, rule.name, f"the rule does not compile: {rule.problem}"))
                continue
            # An isolated rule gets a copy: its worker hands back a changed state, which must not land.
            seen = copy_state(state) if rule.handler.isolated else state
            try:
                verdict = rule.handler(seen, {"call": copy_state(call)}, limits)
            except SandboxError as exc:
                out.append(Violation(step, name, rule.name, f"the rule could not run: {exc}"[:_MAX_MESSAGE]))
                continue
            if verdict is None or verdict == "":
                continue
            if not isinstance(verdict, str):
                verdict = f"the rule returned {type(verdict).__name__}, not a reason or None"
            out.append(Violation(step, name, rule.name, verdict[:_MAX_MESSAGE]))
        return out


def policy_check(violations: list[Violation]) -> CheckResult:
    """The ``policy`` check of a finished run: it passes when no call broke a rule."""
    if not violations:
        return CheckResult(name="policy", passed=True, detail="no call broke a policy rule")
    detail = "; ".join(v.text() for v in violations[:3])
    more = len(violations) - 3
    return CheckResult(name="policy", passed=False, detail=detail + (f"; and {more} more" if more > 0 else ""))


def pack_rules(pack: Any) -> list[PolicyRule]:
    """A pack's rules (``DomainPack.rules``, source by name) as the task field, in name order."""
    rules = getattr(pack, "rules", None) or {}
    return [PolicyRule(name=name, source=source) for name, source in sorted(rules.items())]


def replay_violations(pack: Any, rules: RuleSet, base: Any, calls: list[tuple[str, Any]]) -> list[Violation]:
    """The rule violations of recorded ``calls`` replayed through ``pack``'s handlers on a working copy of
    ``base``, each judged on the state before it; a call the API refused (an error, bad arguments) harmed
    nothing and is not counted."""
    state = pack.working_copy(base, pack.touched(base, calls))
    handlers = {tool.name: compile_handler(tool.handler) for tool in pack.tools}
    found: list[Violation] = []
    for step, (name, args) in enumerate(calls):
        handler = handlers.get(name)
        if handler is None or not isinstance(args, dict):
            continue
        broken = rules.check(state, name, args, step)
        try:
            value = handler(state, args)
        except (SandboxError, TypeError):
            continue
        if not (isinstance(value, str) and value.startswith("Error")):
            found.extend(broken)
    return found
