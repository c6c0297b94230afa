"""Every pydantic contract the stages exchange.

Stages never reach into each other's internals: they pass these models (or the work directory's
datasets of them). Our own models forbid extra fields so that a typo in a producer is an error, not
a silently dropped value. JSON payloads that come from outside (tool arguments, tool schemas, states)
are typed ``Any``: their shape is the source's business, and validating them deeply would cost time
on every trace without catching anything a reader does not already check.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CheckResult",
    "Checks",
    "Choice",
    "Constraint",
    "Failure",
    "FailureCluster",
    "GoldAction",
    "GoldFailure",
    "JsonAssertion",
    "Message",
    "PolicyRule",
    "Provenance",
    "Rollout",
    "RuleResult",
    "Signal",
    "Solution",
    "TaskFeatures",
    "TaskSpec",
    "ToolCall",
    "ToolSpec",
    "ToolStep",
    "Trace",
    "TraceSource",
    "VerifyReport",
]


class Model(BaseModel):
    """Base for the project's own records: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------- traces

TraceSource = Literal["openai_chat", "tau_bench", "clawloop", "who_and_when", "hf_dataset", "rollout",
                      "mini_swe_agent"]
Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(Model):
    """One function call an assistant turn asked for; arguments already parsed from JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(Model):
    """One chat turn in OpenAI form.

    ``name`` is the acting agent in multi-agent traces and the tool's name on tool turns;
    ``is_error`` is set on tool turns when the source says (or the text shows) the call failed.
    """

    role: Role
    content: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    is_error: bool | None = None


class Signal(Model):
    """A named reward signal; ``value`` in [-1, 1] as ClawLoop records it."""

    name: str
    value: float = Field(ge=-1.0, le=1.0)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class GoldAction(Model):
    """A state-changing (or required) action from the source's ground truth."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class GoldFailure(Model):
    """An annotated mistake: who failed, at which message index, and why."""

    agent: str
    step: int
    reason: str
    mistake_type: str | None = None


class ToolStep(Model):
    """Derived view: a tool call paired with its result (None when the trace ends before one)."""

    call_index: int  # index in Trace.messages of the assistant turn that made the call
    result_index: int | None
    call: ToolCall
    result: str | None
    is_error: bool


class Trace(Model):
    id: str
    source: TraceSource
    task_id: str | None = None
    domain: str | None = None
    messages: list[Message]
    tools: list[dict[str, Any]] = Field(default_factory=list)
    reward: float | None = Field(default=None, ge=0.0, le=1.0)
    signals: dict[str, Signal] = Field(default_factory=dict)
    instruction: str | None = None
    gold_actions: list[GoldAction] | None = None
    gold_outputs: list[str] = Field(default_factory=list)
    gold_failure: GoldFailure | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def tool_steps(self) -> list[ToolStep]:
        """Pair every tool call with its result.

        Results are matched by ``tool_call_id`` to the earliest unanswered call with that id, so
        sources that reuse ids (tau-bench does) still pair in order. Every detector asks for the
        steps, so they are paired once per message list (kept outside the model's fields: not dumped,
        not compared; a copy with other messages pairs its own).
        """
        cached = self.__dict__.get("_tool_steps")
        if cached is None or cached[0] is not self.messages or cached[1] != len(self.messages):
            cached = (self.messages, len(self.messages), self._pair_steps())
            self.__dict__["_tool_steps"] = cached
        return list(cached[2])

    def _pair_steps(self) -> list[ToolStep]:
        pending: list[tuple[int, ToolCall]] = []
        steps: list[ToolStep] = []
        for index, message in enumerate(self.messages):
            if message.role == "assistant":
                pending.extend((index, call) for call in message.tool_calls)
            elif message.role == "tool":
                match = next((p for p in pending if p[1].id == message.tool_call_id), None)
                if match is None:
                    continue
                pending.remove(match)
                steps.append(
                    ToolStep(
                        call_index=match[0],
                        result_index=index,
                        call=match[1],
                        result=message.content,
                        is_error=bool(message.is_error),
                    )
                )
        steps.extend(
            ToolStep(call_index=i, result_index=None, call=c, result=None, is_error=False) for i, c in pending
        )
        steps.sort(key=lambda s: (s.call_index, s.result_index if s.result_index is not None else 1 << 30))
        return steps


# ------------------------------------------------------------------------------------- failures


class Failure(Model):
    """A located, classified failure in one trace."""

    id: str
    trace_id: str
    step: int  # index in Trace.messages of the earliest message the failure is evidenced at
    code: str  # taxonomy code author/module/leaf, e.g. agent/action/wrong_argument
    signal: str  # which detector found it (error_result, schema, repeat, gold_diff, ...)
    agent: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    error: str | None = None
    detail: str = ""
    card: str  # normalized one-line text used for embedding


class FailureCluster(Model):
    id: str
    label: str
    codes: list[str]
    size: int
    member_ids: list[str]
    exemplar_ids: list[str]
    keywords: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------- tasks


class ToolSpec(Model):
    """An OpenAI function schema plus the sandboxed handler source that simulates it.

    ``handler`` is Python source defining ``def invoke(state, **args)``; it is untrusted and only
    ever runs inside the sandbox. ``writes`` marks tools that may change the state.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    handler: str
    writes: bool = False

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class PolicyRule(Model):
    """A pack's policy as code: sandboxed source defining ``def check(state, call) -> str | None``.

    ``check`` sees the state before the call and the call (``{"name": ..., "arguments": {...}}``) and
    returns why the call breaks the policy, or None. It runs in the sandbox like a tool handler.
    """

    name: str
    source: str


class PlannedCall(Model):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Solution(Model):
    """An ordered run: tool calls, then the final answer."""

    calls: list[PlannedCall] = Field(default_factory=list)
    answer: str = ""


class JsonAssertion(Model):
    """A JMESPath expression over the final state and the value it must equal."""

    expression: str
    expected: Any


class Checks(Model):
    outcome: bool = True
    required_outputs: list[str] = Field(default_factory=list)
    assertions: list[JsonAssertion] = Field(default_factory=list)


class Provenance(Model):
    generator: str
    model: str | None = None
    prompt_version: str | None = None
    source_trace_ids: list[str] = Field(default_factory=list)
    seed: int | None = None


class TaskFeatures(Model):
    steps: int = 0
    tools: int = 0
    writes: int = 0
    distractors: int = 0
    failure_codes: list[str] = Field(default_factory=list)


class Constraint(Model):
    """One thing the instruction fixes about the entity it asks for, and the words that state it.

    ``field`` is a JMESPath expression over a candidate entity; ``op`` compares its value with ``value``;
    ``text`` is how the instruction states it (checked to appear in the instruction).
    """

    field: str
    op: Literal["eq", "ge", "le"] = "eq"
    value: Any
    text: str


class Choice(Model):
    """An entity the instruction picks out by constraints (a flight by route, day, time and free seats):
    exactly one entity of ``collection`` (the one under ``key``) must satisfy them in the initial state."""

    collection: str
    key: str
    constraints: list[Constraint]


class TaskSpec(Model):
    id: str
    domain: str
    instruction: str
    policy: str = ""  # the pack's policy: the system prompt an agent works under (rollouts, exports)
    user_persona: str | None = None
    tools: list[ToolSpec]
    initial_state: dict[str, Any]
    reference: Solution
    failure_exemplar: Solution | None = None
    checks: Checks = Field(default_factory=Checks)
    target_cluster: str | None = None
    target_code: str | None = None
    provenance: Provenance
    features: TaskFeatures = Field(default_factory=TaskFeatures)
    kind: str | None = None  # what the user asks for (book, cancel, refusal, ...), as the generator names it
    constraints: list[Choice] = Field(default_factory=list)  # what the instruction fixes, for uniqueness
    rules: list[PolicyRule] = Field(default_factory=list)  # the pack's policy rules; a run that breaks one fails


class CheckResult(Model):
    name: str
    passed: bool
    detail: str = ""


class RuleResult(Model):
    rule: str
    passed: bool
    detail: str = ""


class VerifyReport(Model):
    task_id: str
    rules: list[RuleResult]

    @property
    def ok(self) -> bool:
        return all(rule.passed for rule in self.rules)

    def failed(self) -> list[RuleResult]:
        return [rule for rule in self.rules if not rule.passed]


# ------------------------------------------------------------------------------------- rollouts


class Rollout(Trace):
    """A trace an agent produced on a TaskSpec, with the checks that scored it."""

    agent: str
    attempt: int = 0
    checks: list[CheckResult] = Field(default_factory=list)
