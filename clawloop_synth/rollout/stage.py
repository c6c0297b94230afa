"""The ``rollout`` stage: WORKDIR/tasks -> WORKDIR/rollouts (Rollout traces) + rollout.json."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clawloop_synth.errors import InputError
from clawloop_synth.rollout.rows import COLUMN_TYPES, brief, row_columns
from clawloop_synth.store import require_records
from clawloop_synth.types import Rollout, TaskSpec

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["RolloutStats", "load_rollouts", "load_tasks", "rollout_outcomes", "run_rollouts"]


def load_tasks(workdir: Path) -> list[TaskSpec]:
    """The accepted tasks in WORKDIR/tasks."""
    from clawloop_synth.store import load_shared

    require_records(workdir / "tasks", "tasks")
    tasks = load_shared(workdir / "tasks", TaskSpec)
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise InputError("task id appears twice", file=str(workdir / "tasks"), record=task.id, field="id")
        seen.add(task.id)
    return tasks


def load_rollouts(workdir: Path) -> Iterator[Rollout]:
    """Stream the rollouts in WORKDIR/rollouts (Rollout is a Trace: the miner takes them as they are)."""
    from clawloop_synth.store import load_records

    require_records(workdir / "rollouts", "rollouts")
    return load_records(workdir / "rollouts", Rollout)


def rollout_outcomes(workdir: Path) -> Iterator[tuple[str, str | None, float | None]]:
    """Each rollout's (agent, task id, reward), in order, from the dataset's browse columns (no record is
    parsed); from the records when the columns are not there."""
    from clawloop_synth.store import load_columns

    require_records(workdir / "rollouts", "rollouts")
    columns = load_columns(workdir / "rollouts", ("agent", "task_id", "reward"))
    if columns is not None:
        return columns
    return ((r.agent, r.task_id, r.reward) for r in load_rollouts(workdir))


class RolloutStats:
    """Counts and rewards per agent, gathered while the rollouts stream to disk."""

    def __init__(self, agents: Sequence[str]) -> None:
        self.per_agent: dict[str, dict[str, float]] = {
            a: {"rollouts": 0, "errors": 0, "reward_sum": 0.0, "passed": 0} for a in agents}
        self.stops: dict[str, int] = {}

    def add(self, agent: str, reward: float | None, stop: str) -> None:
        row = self.per_agent[agent]
        row["rollouts"] += 1
        if reward is None:
            row["errors"] += 1
        else:
            row["reward_sum"] += reward
            row["passed"] += reward >= 0.5
        self.stops[stop] = self.stops.get(stop, 0) + 1

    def watch(self, rollouts: Iterable[Rollout]) -> Iterator[Rollout]:
        for r in rollouts:
            self.add(*brief(r))
            yield r

    def summary(self) -> dict[str, Any]:
        agents = {}
        for name, row in self.per_agent.items():
            scored = row["rollouts"] - row["errors"]
            agents[name] = {"rollouts": int(row["rollouts"]), "errors": int(row["errors"]),
                            "mean_reward": round(row["reward_sum"] / scored, 4) if scored else None,
                            "pass_rate": round(row["passed"] / scored, 4) if scored else None}
        return {"agents": agents, "stops": dict(sorted(self.stops.items()))}


_EPISODES_PER_BATCH = 16
Shard = tuple[bytes | None, list[tuple[str, float | None, str]]]


def _run_batch(context: tuple[int, Sequence[Any]], span: tuple[int, int]) -> Shard:
    """A worker's share, jobs ``span[0]:span[1]``: its episodes run as in one process (threads, the LLM agents' calls
    overlapping), handed back as the dataset rows they make (an Arrow shard) and what the stats count, so
    the driver only writes. The jobs reach each worker once, in the context, not with every batch."""
    from clawloop_synth.rollout.runner import iter_rollouts
    from clawloop_synth.store import arrow_shard

    concurrency, jobs = context
    rollouts = list(iter_rollouts(jobs[span[0]:span[1]], concurrency))
    return arrow_shard(rollouts, row_columns, COLUMN_TYPES), [brief(r) for r in rollouts]


def _on_engine(engine: Engine, jobs: Sequence[Any], concurrency: int, stats: RolloutStats,
               tick: Callable[[], None] | None) -> Iterator[tuple[bytes | None, dict[int, str]]]:
    """The episodes in batches on a remote engine's workers (a Ray cluster's),
    their shards in job order for :func:`~clawloop_synth.store.save_shards`. Batches are small enough that
    every worker gets a few (a batch's episodes still overlap inside it), at most 16 episodes."""
    size = max(1, min(_EPISODES_PER_BATCH, -(-len(jobs) // (2 * engine.workers()))))
    spans = [(start, min(start + size, len(jobs))) for start in range(0, len(jobs), size)]
    for shard, briefs in engine.map_ordered(_run_batch, spans, context=(concurrency, list(jobs))):
        for row in briefs:
            stats.add(*row)
            if tick is not None:
                tick()
        yield shard, {}


def run_rollouts(workdir: Path, agents_spec: str | Sequence[str] = "scripted", k: int = 1, concurrency: int = 8,
                 seed: int = 0, *, model: str | None = None, api_base: str | None = None,
                 max_tasks: int | None = None, tick: Callable[[], None] | None = None,
                 max_requests: int | None = None, max_cost: float | None = None,
                 engine: Engine | None = None) -> dict[str, Any]:
    """Run every agent of ``agents_spec`` ``k`` times on every task (the first ``max_tasks`` if given);
    write WORKDIR/rollouts and WORKDIR/rollout.json; returns the summary. ``max_requests`` / ``max_cost``:
    the hard budget of each LLM agent; ``engine``: where the episodes run (default: this process), the
    LLM budget and concurrency limit then held by one owner for every worker."""
    from clawloop_synth.engine.local import LocalEngine
    from clawloop_synth.rollout.runner import iter_rollouts, make_jobs
    from clawloop_synth.rollout.spec import parse_agents
    from clawloop_synth.store import save_records, save_shards
    from clawloop_synth.workdir import Manifest, write_json

    if k < 1:
        raise InputError("k must be at least 1", field="k")
    if concurrency < 1:
        raise InputError("concurrency must be at least 1", field="concurrency")
    tasks = load_tasks(workdir)[:max_tasks] if max_tasks is not None else load_tasks(workdir)
    if not tasks:
        raise InputError("the tasks dataset is empty", file=str(workdir / "tasks"))
    agents = parse_agents(agents_spec, seed=seed, model=model, api_base=api_base, concurrency=concurrency)
    shared: dict[str, Any] = {}
    for agent in agents:
        if hasattr(agent, "config"):  # an LLM agent
            agent.config.max_requests, agent.config.max_cost = max_requests, max_cost
            if engine is not None and not engine.in_process:
                agent.config.shared_budget = shared[agent.name] = engine.shared_budget(
                    max_cost, max_requests, agent.config.concurrency)
    jobs = make_jobs(agents, tasks, k)
    stats = RolloutStats([a.name for a in agents])
    started = time.perf_counter()
    remote = engine is not None and not engine.in_process
    if engine is not None and remote:
        count = save_shards(workdir / "rollouts", _on_engine(engine, jobs, concurrency, stats, tick))
    elif isinstance(engine, LocalEngine) and engine.workers() > 1 and not any(hasattr(a, "arun") for a in agents):
        from clawloop_synth.rollout.forked import save_forked

        count = save_forked(engine, jobs, workdir / "rollouts", stats.add, tick)
    else:
        count = save_records(workdir / "rollouts", stats.watch(iter_rollouts(jobs, concurrency, tick)),
                             columns=row_columns, column_types=COLUMN_TYPES)
    seconds = time.perf_counter() - started
    usage = {a.name: shared[a.name].summary() if a.name in shared else a.usage_summary()
             for a in agents if hasattr(a, "usage_summary")}
    spec_text = agents_spec if isinstance(agents_spec, str) else ";".join(agents_spec)
    summary: dict[str, Any] = {
        "stage": "rollout", "agents_spec": spec_text, "tasks": len(tasks), "k": k, "concurrency": concurrency,
        "seed": seed, "rollouts": count, **stats.summary(), "seconds": round(seconds, 2),
        "rollouts_per_second": round(count / seconds, 1) if seconds > 0 else None,
    }
    if usage:
        summary["llm_usage"] = usage
    write_json(workdir / "rollout.json", summary)
    Manifest(workdir).record("rollout", {"agents": spec_text, "k": k, "seed": seed, "model": model,
                                         "tasks": [t.id for t in tasks]},
                             {"rollouts": count, "tasks": len(tasks), "agents": len(agents)})
    return summary
