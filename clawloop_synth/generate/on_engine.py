"""``generate`` on an engine whose workers are elsewhere (``--engine ray``): the gate's checks split across them.

The gate's task-only checks (:func:`~clawloop_synth.generate.gate.examine`: verify, constraints, the shortcut
agent, mining the failure exemplar) are the stage's CPU; the near-duplicate test and the journal stay in the
driver and see the candidates in the local engine's order, so the accepted set is the local one.

- A generator that proposes without calling the judge (``proposes_alone``, the procedural one): each
  cluster's candidates are proposed and examined on a worker (clusters in parallel), up to as many passing
  candidates as the cluster still wants; the driver judges them in cluster order, stops where the local run
  stops, and asks the worker for the next ones only when near-duplicates took some.
- The LLM generators (``run_async``): the chains stay on the driver's event loop (they wait on HTTP), each
  candidate's checks go to a worker (:class:`EngineExaminer` stands in for the gate's worker process), and
  every request is reserved in the engine's shared budget actor, the same ledger the rollout workers use.
- Any other generator runs as on the local engine (``fallback``).

The local engine with more than one process uses :func:`run_proposers` too (its fork pool; ``stage.py``);
its LLM generators keep their own gate worker process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future, InvalidStateError
from typing import TYPE_CHECKING, Any

from clawloop_synth.generate.base import Candidate, GenerationRequest, Verdict
from clawloop_synth.generate.workers import Examiner, examiners

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine
    from clawloop_synth.generate.run import GenerateRun

__all__ = ["EngineExaminer", "run_on_engine", "run_proposers"]

# A cluster's examined candidates, whether the generator may have more, and the verifications run for them
Proposed = tuple[list[tuple[int, Candidate, Verdict | None]], bool, dict[bytes, Any]]


def _no_judge(task: Any) -> Verdict:
    raise RuntimeError("a generator marked proposes_alone called the judge")


def propose_examined(context: tuple[Any, list[GenerationRequest]], item: tuple[int, int, int]) -> Proposed:
    """On a worker: request ``index``'s candidates from number ``skip`` on, each with its :func:`examine`
    verdict, until ``limit`` of them pass (or ``request.count`` were proposed). Returns them and whether the
    generator may have more."""
    from clawloop_synth.generate.gate import examine
    from clawloop_synth.sim import recorded_reports

    generator, requests = context
    index, skip, limit = item
    request = requests[index]
    out: list[tuple[int, Candidate, Verdict | None]] = []
    passed, more = 0, False
    with recorded_reports() as reports:
        for n, candidate in enumerate(generator.propose(request, _no_judge)):
            if n >= skip:
                examined = examine(candidate.task, request.target_code) if candidate.task is not None else None
                out.append((n, candidate, examined))
                passed += examined is not None and examined.accepted
            if n + 1 >= request.count:
                break
            if passed >= limit:
                more = True
                break
    return out, more, reports


def run_proposers(run: GenerateRun, generator: Any, engine: Engine) -> None:
    """The local ``_run_sync`` loop over candidates proposed and examined on the engine's workers (a Ray
    cluster's, or the local engine's fork pool)."""
    from clawloop_synth.engine.local import LocalEngine
    from clawloop_synth.sim import adopt_reports

    context = (generator, run.requests)
    # The local pool's workers may use the parent's generator and requests as forked (the pack, state and
    # traces are not pickled again), which also lets the pool start sooner.
    forked = {"inherit": True} if isinstance(engine, LocalEngine) else {}
    todo = [i for i, request in enumerate(run.requests) if not run.finished(request)]
    items = [(i, 0, run.remaining(run.requests[i])) for i in todo]
    for i, (batch, more, reports) in zip(todo, engine.map_ordered(propose_examined, items, context=context,
                                                                  **forked), strict=True):
        adopt_reports(reports)  # export and report verify the accepted tasks again: here, not on the workers
        request = run.requests[i]
        proposed, stop = 0, False
        while True:
            for index, candidate, examined in batch:
                run.handle(request, index, candidate, examined)
                proposed = index + 1
                if run.remaining(request) == 0 or proposed >= request.count:
                    stop = True
                    break
            if stop or not more:
                break
            # near-duplicates of accepted tasks took some: the cluster's next candidates
            [(batch, more, reports)] = engine.map_ordered(propose_examined, [(i, proposed, run.remaining(request))],
                                                          context=context)
            adopt_reports(reports)
        run.journal.finish_cluster(request.cluster.id, {"wanted": run.wanted(request), "proposed": proposed,
                                                        "exhausted": run.remaining(request) > 0})


def _warm() -> None:
    """Import what :func:`examine` uses, so a worker's first candidate is not charged for it."""
    from clawloop_synth.agents import shortcut  # noqa: F401
    from clawloop_synth.generate import constraints  # noqa: F401
    from clawloop_synth.generate.gate import examine  # noqa: F401
    from clawloop_synth.sim import verify  # noqa: F401


def _examine(task: Any, target_code: str | None) -> Verdict:
    from clawloop_synth.generate.gate import examine

    return examine(task, target_code)


class _Stopper:
    """What the gate's timeout kills (``stop_examiner`` calls ``_proc.kill()``): the calls in flight."""

    def __init__(self, owner: EngineExaminer) -> None:
        self.owner = owner

    def kill(self) -> None:
        with self.owner._lock:
            pending = list(self.owner._pending)
        for future in pending:
            self.owner.engine.cancel(future)


class EngineExaminer(Examiner):
    """The gate worker process's interface (:class:`~clawloop_synth.generate.workers.Examiner`), each call
    one task on the engine's workers. Ready once every worker has imported the gate."""

    def __init__(self, engine: Engine) -> None:  # no process of its own: the base's __init__ is not called
        self.engine = engine
        self._lock = threading.Lock()
        self._pending: Any = set()
        self.broken = False
        self.ready: Future[None] = Future()
        self._proc = _Stopper(self)  # type: ignore[assignment]
        warming = [engine.submit(_warm) for _ in range(engine.workers())]
        left = [len(warming)]

        def warmed(done: Future[Any]) -> None:
            with self._lock:
                left[0] -= 1
                last = left[0] == 0
            with contextlib.suppress(InvalidStateError):
                if done.exception() is not None:
                    self.ready.set_exception(done.exception())
                elif last:
                    self.ready.set_result(None)

        for future in warming:
            future.add_done_callback(warmed)

    def submit(self, task: Any, target_code: str | None) -> Future[Any]:
        with self._lock:
            if self.broken:
                raise BrokenExecutor("the engine's examiner was stopped")
            future = self.engine.submit(_examine, task, target_code)
            self._pending.add(future)
        future.add_done_callback(self._settled)
        return future

    def _settled(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _fail(self) -> None:
        with self._lock:
            self.broken = True
            pending, self._pending = list(self._pending), set()
        for future in [*pending, self.ready]:
            with contextlib.suppress(InvalidStateError):
                if not future.done():
                    future.set_exception(BrokenExecutor("the engine's examiner was stopped"))

    def close(self) -> None:
        self._proc.kill()


@contextlib.contextmanager
def _shared_budget(llm: Any, engine: Engine, config: Any) -> Iterator[None]:
    saved = llm.config.shared_budget
    llm.config.shared_budget = engine.shared_budget(config.max_cost, config.max_requests, config.concurrency)
    try:
        yield
    finally:
        llm.config.shared_budget = saved


def run_on_engine(run: GenerateRun, generator: Any, engine: Engine, llm: Any, config: Any,
                  fallback: Callable[[GenerateRun, Any], None]) -> str | None:
    """Run ``generator`` over ``run`` with the gate's checks on ``engine``; why it stopped early, if it did."""
    if hasattr(generator, "run_async"):
        budget = _shared_budget(llm, engine, config) if llm is not None else contextlib.nullcontext()
        with budget, examiners(lambda: EngineExaminer(engine)):
            stopped: str | None = generator.run_async(run)
        return stopped
    if getattr(generator, "proposes_alone", False):
        run_proposers(run, generator, engine)
    else:
        fallback(run, generator)
    return None
