"""The LLM generator ("llm"): prompts a model for task drafts, gates them, feeds rejections back.

Per cluster, slot ``i`` is one chain: ask (``prompts/generate_task.jinja``; the slot picks the
entities the task is built around and is the cache ``variant``), turn the draft into a TaskSpec with
id ``PREFIX{i:04d}``, judge it; on a reject, send the reason back (``prompts/repair_task.jinja``) and
judge the repair (id ``...-r1``, ``-r2``) up to ``max_repairs`` times. Chains of every cluster run
concurrently (the seam bounds the HTTP concurrency, ``ahead`` the chains under way); a cluster keeps
at most as many chains in flight as it still needs tasks. The gate's task-only checks (verify,
mining the failure exemplar) run in a worker process (:mod:`.workers`), the near-duplicate test and
the journal on one worker thread, so the event loop only sends, parses and schedules.

Everything is deterministic given the answer cache, so a re-run replays the chains from the cache
(no request sent) and the journal (no judging twice). A chain whose request failed for transport
reasons (after the seam's retries) is not journaled, and its cluster is left pending, not marked
done: no new chain of that cluster starts in this run, and a re-run asks again. Judging one
candidate has a wall-clock bound (:data:`JUDGE_SECONDS`): past it the gate's worker process is
stopped and the candidate rejected as ``judge_timeout``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from clawloop_synth.generate.base import Candidate, GenerationRequest, Judge, Verdict
from clawloop_synth.generate.drafts import TaskDraft, task_from_draft
from clawloop_synth.generate.views import cluster_brief, state_excerpt, tools_brief
from clawloop_synth.generate.workers import Examiner, examiner, stop_examiner

__all__ = ["SYSTEM", "LLMGenerator", "focus_entities", "generation_messages", "repair_messages"]

# Wall-clock seconds to judge one candidate in the gate's worker process (a candidate takes
# milliseconds; each of its handler calls is bounded by the sandbox, but a task may hold many).
JUDGE_SECONDS = 60.0
STARTUP_SECONDS = 300.0  # for the gate's worker process to import its modules (not charged to a candidate)

SYSTEM = ("You design verifiable tool-use training tasks for AI agents. You answer with one JSON object that "
          "follows the given schema exactly.")


def focus_entities(request: GenerationRequest, slot: int, limit: int = 4000) -> str:
    """The entities slot ``slot`` is built around: one entity of the first collection, picked by a seeded
    hash, with the entities it links to (one hop), as clipped JSON."""
    state = request.state
    collections = [name for name, table in state.items() if isinstance(table, dict) and table]
    if not collections:
        return "{}"
    first = collections[0]
    keys = sorted(state[first])
    key = random.Random(f"{request.seed}:{request.cluster.id}:{slot}").choice(keys)
    refs: dict[str, set[str]] = {first: {key}}
    if request.pack is not None and hasattr(request.pack, "linked"):
        refs = request.pack.linked(state, refs, depth=1)
    picked = {name: {k: state[name][k] for k in sorted(refs.get(name, ())) if k in state[name]}
              for name in collections if refs.get(name)}
    text = json.dumps(picked, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# The prompt is rendered whole for every slot (a few ms; a model call takes a second or more: see
# evals/bench_generate_prompt.py); only the slot-independent variables are kept per request.
_STATIC: dict[int, tuple[GenerationRequest, dict[str, Any]]] = {}


def _static_vars(request: GenerationRequest) -> dict[str, Any]:
    """The prompt variables that do not depend on the slot, computed once per request (milliseconds)."""
    hit = _STATIC.get(id(request))
    if hit is not None and hit[0] is request:
        return hit[1]
    if len(_STATIC) > 256:
        _STATIC.clear()
    traces = {t.id: t for t in request.traces}
    tools = list(request.pack.tools) if request.pack is not None else []
    variables = {"domain": request.domain, "domain_description": getattr(request.pack, "description", "") or "",
                 "policy": getattr(request.pack, "policy", "") or "",
                 "cluster": cluster_brief(request.cluster, request.exemplars, traces),
                 "target_code": request.target_code, "tools": tools_brief(tools),
                 "state_shape": state_excerpt(request.state, limit=600), "count": request.count}
    _STATIC[id(request)] = (request, variables)
    return variables


def _render(request: GenerationRequest, slot: int, focus: str) -> str:
    from clawloop_synth.llm import render_prompt

    return render_prompt("generate_task", **_static_vars(request), slot=slot, focus=focus)


def generation_messages(request: GenerationRequest, slot: int) -> list[dict[str, Any]]:
    """The first prompt of slot ``slot`` for ``request`` (trace text is redacted by the seam)."""
    user = _render(request, slot, focus_entities(request, slot))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def repair_messages(messages: list[dict[str, Any]], draft: TaskDraft, verdict: Verdict,
                    target_code: str) -> list[dict[str, Any]]:
    """``messages`` plus the rejected answer and the gate's feedback."""
    from clawloop_synth.llm import render_prompt

    rules = [part.strip() for part in verdict.detail.split("; ") if part.strip()] or [verdict.reason]
    feedback = render_prompt("repair_task", reason=verdict.reason, rules=rules, target_code=target_code)
    return [*messages, {"role": "assistant", "content": draft.model_dump_json()},
            {"role": "user", "content": feedback}]


class LLMGenerator:
    """Generate through the LLM seam (``clawloop_synth.llm.LLM``); see the module doc."""

    name = "llm"
    ahead = 2  # chains under way at most, per request the seam may have in flight (0: no bound)

    def __init__(self, llm: Any, max_repairs: int = 2, stage: str = "generate", gate_process: bool = True) -> None:
        self.llm = llm
        self.max_repairs = max_repairs
        self.stage = stage
        self.gate_process = gate_process  # False: the whole gate runs on the worker thread
        self._version: str | None = None
        self._ahead: asyncio.Semaphore | None = None
        self.notes: dict[str, str] = {}
        self.llm_errors = 0
        self.stopped: str | None = None
        self.pending: set[str] = set()  # clusters left unfinished by transport failures

    # -- one chain ----------------------------------------------------------------------------
    async def ask(self, messages: list[dict[str, Any]], slot: int) -> TaskDraft:
        """One structured call; subclasses (the DSPy program) replace it."""
        draft: TaskDraft = await self.llm.astructured(messages, TaskDraft, stage=self.stage, variant=slot)
        return draft

    def prompt_version(self) -> str:
        if self._version is None:  # reads and hashes the template: once, not per task
            from clawloop_synth.llm import prompt_version

            self._version = prompt_version("generate_task")
        return self._version

    async def chain(self, request: GenerationRequest, slot: int, judge: Callable[[Any], Awaitable[Verdict]],
                    unbuilt: Callable[[str, Candidate], None]) -> Candidate:
        """Ask, judge, repair; returns the last candidate (reason "budget" once the budget is spent)."""
        from clawloop_synth.llm import BudgetExceeded, LLMError, StructuredOutputError

        messages = generation_messages(request, slot)
        candidate = Candidate(None, "llm_error", "no answer")
        for attempt in range(self.max_repairs + 1):
            task_id = f"{request.id_prefix}{slot:04d}" + (f"-r{attempt}" if attempt else "")
            try:
                draft = await self.ask(messages, slot)
            except BudgetExceeded as exc:  # no new chain starts; the ones in flight finish and are judged
                self.stopped = self.stopped or str(exc)
                return Candidate(None, "budget", str(exc))
            except StructuredOutputError as exc:
                candidate = Candidate(None, "invalid_spec", str(exc)[:1000])
                unbuilt(task_id, candidate)
                return candidate
            except LLMError as exc:  # transport failure after retries: not journaled, a re-run tries again
                self.llm_errors += 1
                return Candidate(None, "llm_error", str(exc)[:500])
            try:
                task = task_from_draft(draft, request, task_id, self.name, self.llm.config.model,
                                       self.prompt_version())
            except ValidationError as exc:
                candidate = Candidate(None, "invalid_spec", str(exc)[:1000])
                unbuilt(task_id, candidate)
                verdict = Verdict(False, "invalid_spec", str(exc)[:1000])
            else:
                verdict = await judge(task)
                candidate = Candidate(task, verdict=verdict)
                if verdict.accepted:
                    return candidate
            if attempt < self.max_repairs:
                messages = repair_messages(messages, draft, verdict, request.target_code)
        return candidate

    # -- the stage's driver -------------------------------------------------------------------
    def run_async(self, run: Any) -> str | None:
        """Run every cluster of ``run`` (a ``GenerateRun``); returns why it stopped early, if it did.

        The objects alive at the start (imports, the domain state, the inputs) are frozen out of the
        garbage collector for the run: a full collection scans them all and stops the event loop for
        ~130 ms (measured on the demo bench), once or twice per run."""
        gc.freeze()
        try:
            return asyncio.run(self._run(run))
        finally:
            gc.unfreeze()

    async def _limited(self, chain: Awaitable[Candidate]) -> Candidate:
        """Run ``chain`` once fewer than ``ahead`` chains run: the seam's semaphore bounds the requests,
        this bounds the prompts rendered and redacted ahead of them, so that work is spread over the run
        instead of all at its start, where it delays handling the first answers."""
        if self._ahead is None:
            return await chain
        async with self._ahead:
            return await chain

    async def _run(self, run: Any) -> str | None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate")
        pool.submit(int).result()  # start the thread now, before any sandbox call lowers RLIMIT_AS
        processes = examiner() if self.gate_process else None
        loop = asyncio.get_running_loop()
        self.stopped = None
        concurrency = int(getattr(getattr(self.llm, "config", None), "concurrency", 0) or 0)
        self._ahead = asyncio.Semaphore(self.ahead * concurrency) if concurrency and self.ahead else None
        try:
            await asyncio.gather(*(self._cluster(run, request, pool, processes, loop) for request in run.requests))
        finally:
            pool.shutdown(wait=True)
            await self.llm.aclose()
        return f"budget: {self.stopped}" if self.stopped else None

    async def _cluster(self, run: Any, request: GenerationRequest, pool: ThreadPoolExecutor,
                       processes: Examiner | None, loop: asyncio.AbstractEventLoop) -> None:
        cid = request.cluster.id
        if run.finished(request):
            return
        prefix = request.id_prefix
        solved = {e.id[len(prefix):len(prefix) + 4] for e in run.journal.accepted(cid) if e.id.startswith(prefix)}
        slots: Iterator[int] = (s for s in range(request.count) if f"{s:04d}" not in solved)

        async def judge(task: Any) -> Verdict:
            examined: Verdict | None = None
            if processes is not None and task.id not in run.journal.entries:
                examined = await self._examine(task, request.target_code)
            verdict: Verdict = await loop.run_in_executor(pool, run.judge, request, task, examined)
            return verdict

        def unbuilt(key: str, candidate: Candidate) -> None:
            run.unbuilt(request, key, candidate)

        inflight: set[asyncio.Task[Candidate]] = set()
        exhausted = False
        failed: list[str] = []  # transport failures: the cluster stays pending
        while True:
            while not exhausted and not self.stopped and not failed and len(inflight) < run.remaining(request):
                slot = next(slots, None)
                if slot is None:
                    exhausted = True
                    break
                inflight.add(asyncio.create_task(self._limited(self.chain(request, slot, judge, unbuilt))))
            if not inflight:
                break
            finished, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                if task.result().reason == "llm_error":
                    failed.append(task.result().detail)
        if failed:
            self.notes[cid] = (f"{len(failed)} request(s) failed after retries ({failed[0][:200]}); the cluster is "
                               "left pending: a re-run asks again")
            self.pending.add(cid)
            return
        if self.stopped:  # not finished: a re-run with more budget carries on
            return
        run.journal.finish_cluster(cid, {"wanted": run.wanted(request),
                                         "exhausted": run.remaining(request) > 0})

    async def _examine(self, task: Any, target_code: str) -> Verdict | None:
        """The gate's task-only checks in the worker process, within :data:`JUDGE_SECONDS`; None
        when no worker process is available (the gate thread then judges from scratch)."""
        for _ in range(2):  # a worker stopped for another candidate's timeout: once more on a new one
            processes = examiner()
            if processes is None:
                return None
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(processes.ready)), STARTUP_SECONDS)
                future = asyncio.wrap_future(processes.submit(task, target_code))
                future.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved
                return await asyncio.wait_for(asyncio.shield(future), JUDGE_SECONDS)
            except BrokenExecutor:
                continue
            except TimeoutError:
                stop_examiner(processes)
                return Verdict(False, "judge_timeout",
                               f"judging the candidate took longer than {JUDGE_SECONDS:g} s (wall clock)")
        return None

    # -- the Generator protocol and the dry run -------------------------------------------------
    def propose(self, request: GenerationRequest, judge: Judge) -> Iterator[Candidate]:
        """Run ``request.count`` chains concurrently (the protocol's blocking form)."""

        async def main() -> list[Candidate]:
            async def ajudge(task: Any) -> Verdict:
                return judge(task)

            try:
                return list(await asyncio.gather(*(self.chain(request, s, ajudge, lambda _k, _c: None)
                                                   for s in range(request.count))))
            finally:
                await self.llm.aclose()

        yield from asyncio.run(main())

    def estimate(self, requests: list[GenerationRequest], per_cluster: int) -> dict[str, Any]:
        """Tokens and cost of the first attempt of ``per_cluster`` chains per cluster (sends nothing)."""
        messages = [generation_messages(r, s) for r in requests for s in range(per_cluster)]
        return dict(self.llm.estimate(messages, TaskDraft))
