"""Cached loaders of the real tau-bench airline data, shared by the airline test files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from clawloop_synth.ingest import iter_traces
from clawloop_synth.sim.gold import airline_gold_tasks
from clawloop_synth.sim.pack import DomainPack, State, load_pack
from clawloop_synth.types import TaskSpec, Trace


@cache
def traces(path: Path) -> tuple[Trace, ...]:
    return tuple(iter_traces([path]))


@cache
def pack(db: Path) -> DomainPack:
    return load_pack("airline", db)


@cache
def state(db: Path) -> State:
    return pack(db).load_state()


@cache
def gold_tasks(path: Path, db: Path) -> tuple[TaskSpec, ...]:
    return tuple(airline_gold_tasks(traces(path), state(db), pack(db)))
