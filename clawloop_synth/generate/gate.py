"""The gate every candidate task passes before it is accepted.

In order (the first failed check is the reject reason):

1. ``invalid_spec:handler_policy``: every tool handler compiles under the sandbox policy;
2. ``verify:<rule>``: :func:`clawloop_synth.sim.verify` passes every rule (the first failed rule
   names the reason, ``verify:reference_follows_policy`` first: a reference that breaks a policy
   rule is rejected, while a failure exemplar may break one; the detail lists all failed rules);
3. ``constraint_unstated`` / ``constraint_unmet`` / ``ambiguous``: the task's structured constraints
   are stated in its instruction and exactly one entity satisfies them (:mod:`.constraints`);
4. ``no_information_need``: some write argument or required output is absent from the instruction
   (:func:`~clawloop_synth.agents.information_needs`), so a tool result must tell it;
5. ``shortcut``: the shortcut agent (:class:`~clawloop_synth.agents.ShortcutAgent`, acts from the
   instruction alone and never reads a result) fails the task;
6. ``untargeted``: the failure exemplar, run in ``SimEnv`` and turned into a Trace (gold actions = the
   reference's state-changing calls, gold outputs = the required outputs), is mined and must show
   the cluster's target code;
7. ``near_duplicate``: the embedding of the task's text view (:func:`views.task_view`, hashing
   embedder by default) has cosine < ``threshold`` (0.95) with every task accepted so far.

A task that passes is added to the accepted set, so the order of judging matters and is kept
deterministic by the stage. Checks 1-6 depend on the task alone (:func:`examine`, pure CPU, picklable
in and out), so the LLM path runs them in a worker process and only check 4 in the host.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from clawloop_synth.generate.base import Judge, Verdict
from clawloop_synth.generate.views import task_view
from clawloop_synth.types import GoldAction, Message, Solution, TaskSpec, ToolCall, ToolSpec, Trace, VerifyReport

if TYPE_CHECKING:
    from clawloop_synth.mine.context import MineContext

__all__ = ["DEFAULT_THRESHOLD", "Gate", "examine", "exemplar_trace", "mine_context", "mined_codes", "shortcut_solves",
           "verified"]

DEFAULT_THRESHOLD = 0.95


def exemplar_trace(task: TaskSpec, solution: Solution | None = None) -> Trace:
    """Run ``solution`` (the failure exemplar by default) in a fresh ``SimEnv`` and record it as a Trace."""
    from clawloop_synth.sim import run_solution

    solution = solution if solution is not None else task.failure_exemplar or Solution()
    reward, _, results = run_solution(task, solution)
    messages = [Message(role="user", content=task.instruction)]
    for n, (call, result) in enumerate(zip(solution.calls, results, strict=False)):
        call_id = f"call_{n}"
        messages.append(Message(role="assistant", tool_calls=[ToolCall(id=call_id, name=call.name,
                                                                       arguments=dict(call.arguments))]))
        messages.append(Message(role="tool", name=call.name, tool_call_id=call_id, content=result.content,
                                is_error=result.is_error))
    messages.append(Message(role="assistant", content=solution.answer or None))
    writes = {spec.name for spec in task.tools if spec.writes}
    gold = [GoldAction(name=c.name, arguments=dict(c.arguments)) for c in task.reference.calls if c.name in writes]
    gold = [g for i, g in enumerate(gold) if i == 0 or g != gold[i - 1]]  # a retried write is one action
    return Trace(
        id=f"{task.id}:exemplar", source="rollout", task_id=task.id, domain=task.domain, messages=messages,
        tools=[spec.openai_schema() for spec in task.tools], reward=max(0.0, min(1.0, reward)),
        instruction=task.instruction,
        gold_actions=gold,
        gold_outputs=list(task.checks.required_outputs),
    )


# The candidate's verification and mined codes, shared by the generator's own pre-check (the procedural
# generator runs both before it proposes a task) and the gate: one run each per task object. Keyed by
# the object's id, checked against a weak reference (a recycled id never hits a stale entry); a task is
# fixed once judged, as for ``sim.checks``' reference states.
_SHARED: dict[int, tuple[weakref.ref[TaskSpec], dict[Any, Any]]] = {}
_SHARED_MAX = 4096
_CONTEXTS: dict[tuple[Any, ...], MineContext] = {}
_shared_lock = threading.Lock()


def _shared(task: TaskSpec) -> dict[Any, Any]:
    hit = _SHARED.get(id(task))
    if hit is not None and hit[0]() is task:
        return hit[1]
    memo: dict[Any, Any] = {}
    with _shared_lock:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        _SHARED[id(task)] = (weakref.ref(task), memo)
    return memo


def mine_context(tools: list[ToolSpec]) -> MineContext:
    """The mining context of a tool set, built once per set (by name, parameters and write flag: all
    :func:`~clawloop_synth.mine.build_context` reads of them) and shared by every candidate using it."""
    from clawloop_synth.mine import build_context

    key = tuple((t.name, orjson.dumps(t.parameters, option=orjson.OPT_SORT_KEYS), t.writes) for t in tools)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = build_context([], pack_tools=list(tools))
        with _shared_lock:
            if len(_CONTEXTS) >= 64:
                _CONTEXTS.clear()
            _CONTEXTS[key] = ctx
    return ctx


def verified(task: TaskSpec) -> VerifyReport:
    """:func:`clawloop_synth.sim.verify` of ``task``, run once per task object."""
    from clawloop_synth.sim import verify_once

    memo = _shared(task)
    if "verify" not in memo:
        memo["verify"] = verify_once(task)
    report: VerifyReport = memo["verify"]
    return report


def mined_codes(task: TaskSpec, ctx: MineContext | None = None) -> list[str]:
    """The failure codes the miner finds in the failure exemplar's run, in step order.

    This is the targeting rule; generators that check themselves before the gate (the procedural
    one) call it too. ``ctx``: the mining context (default: :func:`mine_context` of the task's tools).
    Run once per task object and context.
    """
    from clawloop_synth.mine import mine_trace

    ctx = ctx or mine_context(task.tools)
    memo = _shared(task)
    key = ("codes", id(ctx))
    if key not in memo:
        trace = exemplar_trace(task)
        ctx.solved_tasks.add(task.id)  # the task is verified: its reference solves it
        memo[key] = [f.code for f in mine_trace(trace, ctx)]
    return list(memo[key])


def shortcut_solves(task: TaskSpec) -> bool:
    """Whether the shortcut agent, acting from the instruction alone, passes every check of ``task``."""
    from clawloop_synth.agents.run import run_agent
    from clawloop_synth.agents.shortcut import ShortcutAgent

    return run_agent(ShortcutAgent(), task).reward == 1.0


def examine(task: TaskSpec, target_code: str | None) -> Verdict:
    """Checks 1-6 (handler policy, ``verify``, constraints, information need, shortcut, targeting) on
    ``task`` alone: the rejecting verdict of the first that fails, else an accepting verdict with the
    mined codes (the near-duplicate test is left)."""
    from clawloop_synth.sim import SandboxError, compile_handler

    for spec in task.tools:
        try:
            compile_handler(spec.handler)
        except SandboxError as exc:
            return Verdict(False, "invalid_spec:handler_policy",
                           f"the handler of tool {spec.name} fails the sandbox policy: {exc}"[:500])
    report = verified(task)
    if not report.ok:
        failed = report.failed()
        # A reference that breaks the policy also fails its checks; name the cause, not the symptom.
        failed.sort(key=lambda r: r.rule != "reference_follows_policy")
        detail = "; ".join(f"{r.rule}: {r.detail}" for r in failed)[:1000]
        return Verdict(False, f"verify:{failed[0].rule}", detail)
    from clawloop_synth.agents.shortcut import information_needs
    from clawloop_synth.generate.constraints import constraint_problem

    problem = constraint_problem(task)
    if problem is not None:
        return Verdict(False, problem[0], problem[1][:500])
    if not information_needs(task):
        return Verdict(False, "no_information_need",
                       "the instruction states every write argument and required output: no tool result is needed")
    if shortcut_solves(task):
        return Verdict(False, "shortcut", "the shortcut agent (instruction only, no tool result read) solves it")
    codes = mined_codes(task)
    if target_code is not None and target_code not in codes:
        found = ", ".join(dict.fromkeys(codes)) or "no failure"
        return Verdict(False, "untargeted", f"the failure exemplar's run shows {found}, not {target_code}", codes)
    return Verdict(True, "", "", codes)


class Gate:
    """Judges candidates and remembers the accepted ones (for the near-duplicate check).

    Thread-safe: the LLM path may judge from a worker thread.
    """

    def __init__(self, embedder: Any = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        """``embedder``: an Embedder, or a zero-argument factory called once per thread (an embedder
        with a SQLite cache must stay on the thread that opened it); default: hashing, no cache."""
        if embedder is None:
            from clawloop_synth.embed import make_embedder

            embedder = make_embedder("hashing")
        self._factory = embedder if callable(embedder) and not hasattr(embedder, "embed") else None
        self._embedder = None if self._factory is not None else embedder
        self._local = threading.local()
        self.threshold = threshold
        self._ids: list[str] = []
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def accepted(self) -> int:
        return len(self._ids)

    @property
    def embedder(self) -> Any:
        if self._factory is None:
            return self._embedder
        if getattr(self._local, "embedder", None) is None:
            self._local.embedder = self._factory()
        return self._local.embedder

    def _vector(self, task: TaskSpec) -> np.ndarray:
        return np.asarray(self.embedder.embed([task_view(task)]), dtype=np.float32)[0]

    def nearest(self, vector: np.ndarray) -> tuple[str | None, float]:
        if self._vectors is None or not len(self._ids):
            return None, 0.0
        sims = self._vectors[: len(self._ids)] @ vector
        best = int(np.argmax(sims))
        return self._ids[best], float(sims[best])

    def add(self, task: TaskSpec, vector: np.ndarray | None = None) -> None:
        """Count ``task`` as accepted (e.g. one read back from the journal on resume)."""
        vector = self._vector(task) if vector is None else vector
        with self._lock:
            self._add_locked(task, vector)

    def check(self, task: TaskSpec, target_code: str | None,
              examined: Verdict | None = None) -> tuple[Verdict, np.ndarray | None]:
        """The verdict on ``task`` without accepting it (and its view's vector when it got that far);
        ``examined``: the result of :func:`examine` on it when already computed (e.g. in a worker)."""
        verdict = examined if examined is not None else examine(task, target_code)
        if not verdict.accepted:
            return verdict, None
        codes = verdict.codes
        vector = self._vector(task)
        nearest, cosine = self.nearest(vector)
        if nearest is not None and cosine >= self.threshold:
            return Verdict(False, "near_duplicate", f"cosine {cosine:.3f} with accepted task {nearest}", codes), vector
        return Verdict(True, "", "", codes), vector

    def judge(self, task: TaskSpec, target_code: str | None, examined: Verdict | None = None) -> Verdict:
        """Check ``task``; when it passes, accept it. The near-duplicate test and the acceptance are
        atomic so that two threads never accept near-duplicates of each other."""
        verdict, vector = self.check(task, target_code, examined)
        if not verdict.accepted or vector is None:
            return verdict
        with self._lock:
            nearest, cosine = self.nearest(vector)
            if nearest is not None and cosine >= self.threshold:
                return Verdict(False, "near_duplicate", f"cosine {cosine:.3f} with accepted task {nearest}",
                               verdict.codes)
            self._add_locked(task, vector)
        return verdict

    def _add_locked(self, task: TaskSpec, vector: np.ndarray) -> None:
        n = len(self._ids)
        if self._vectors is None:
            self._vectors = np.zeros((64, vector.shape[0]), dtype=np.float32)
        elif n == self._vectors.shape[0]:
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
        self._vectors[n] = vector
        self._ids.append(task.id)

    def judge_for(self, target_code: str | None) -> Judge:
        """A :data:`Judge` bound to one cluster's target code."""
        return lambda task: self.judge(task, target_code)
