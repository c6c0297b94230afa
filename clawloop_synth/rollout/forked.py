"""In-process agents' episodes on the local engine's fork pool, a run of tasks per piece.

A population's episodes of one task share a memo of the paths already walked
(:mod:`clawloop_synth.agents._memo`), so a piece is every episode of a few consecutive tasks, and the
workers see the parent's tasks as the fork left them (no pickled copy: the memos and compiled setups
are keyed by the task object). The dataset keeps the one-process order (agents, then tasks, then
attempts): each piece writes one Arrow shard per agent into a scratch folder, and the shards are read
back agent by agent, piece by piece. Only one piece's episodes are held in memory at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clawloop_synth.rollout.runner import Job
from clawloop_synth.types import TaskSpec

if TYPE_CHECKING:
    from clawloop_synth.engine.local import LocalEngine

__all__ = ["save_forked"]

_TASKS_PER_PIECE = 64  # at most: a piece's episodes are held until its shards are written
Brief = tuple[str, float | None, str]
Context = tuple[Sequence[Any], Sequence[TaskSpec], int, str]


def _pieces(tasks: int, workers: int) -> list[tuple[int, int]]:
    """Consecutive task ranges, about four per worker so that an uneven piece does not hold the rest."""
    size = max(1, min(_TASKS_PER_PIECE, -(-tasks // (8 * workers))))
    return [(start, min(start + size, tasks)) for start in range(0, tasks, size)]


def _shard_path(scratch: str, piece: int, agent: int) -> Path:
    return Path(scratch) / f"{piece:06d}-{agent:04d}.arrow"


def _run_piece(context: Context, item: tuple[int, tuple[int, int]]) -> list[list[Brief]]:
    """Every episode of tasks ``span``, one shard per agent in the scratch folder; returns what the stats
    count of them, per agent."""
    from clawloop_synth.agents import run_agent
    from clawloop_synth.rollout.rows import COLUMN_TYPES, brief, row_columns
    from clawloop_synth.store import arrow_shard

    agents, tasks, k, scratch = context
    piece, (start, end) = item
    out = []
    for a, agent in enumerate(agents):
        rollouts = [run_agent(agent, task, attempt=attempt) for task in tasks[start:end] for attempt in range(k)]
        shard = arrow_shard(rollouts, row_columns, COLUMN_TYPES)
        if shard is not None:
            _shard_path(scratch, piece, a).write_bytes(shard)
        out.append([brief(r) for r in rollouts])
    return out


def save_forked(engine: LocalEngine, jobs: Sequence[Job], folder: Path, add: Callable[..., None],
                tick: Callable[[], None] | None) -> int:
    """Run ``jobs`` (every agent on every task, as :func:`~clawloop_synth.rollout.runner.make_jobs` lists
    them; in-process agents only) and write their rollouts at ``folder`` in job order; ``add(*brief)`` is
    called per rollout. Returns the row count."""
    from clawloop_synth.store import save_shards

    agents = list({id(job.agent): job.agent for job in jobs}.values())
    tasks = list({id(job.task): job.task for job in jobs}.values())
    k = len(jobs) // (len(agents) * len(tasks))
    listed = [(id(a), id(t), n) for a in agents for t in tasks for n in range(k)]
    if [(id(j.agent), id(j.task), j.attempt) for j in jobs] != listed:
        raise ValueError("save_forked takes the jobs of make_jobs: every agent on every task, k attempts each")
    pieces = _pieces(len(tasks), engine.workers())
    with tempfile.TemporaryDirectory(prefix="rollout-", dir=folder.parent) as scratch:
        context: Context = (agents, tasks, k, scratch)
        briefs = []
        for per_agent in engine.map_ordered(_run_piece, list(enumerate(pieces)), context=context, inherit=True):
            briefs.append(per_agent)
            if tick is not None:
                for _ in range(sum(map(len, per_agent))):
                    tick()

        def shards() -> Iterator[tuple[bytes | None, dict[int, str]]]:
            for a in range(len(agents)):
                for piece in range(len(pieces)):
                    for row in briefs[piece][a]:
                        add(*row)
                    path = _shard_path(scratch, piece, a)
                    if path.exists():
                        yield path.read_bytes(), {}
                        path.unlink()

        return save_shards(folder, shards())
