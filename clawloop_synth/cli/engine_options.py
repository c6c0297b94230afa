"""The ``--engine`` and ``--address`` options shared by ``run`` and the stages whose work splits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["AddressOption", "EngineOption", "WorkersOption", "engine_for"]

EngineOption = Annotated[str, typer.Option(
    "--engine", help="Where the work runs: local (this process) or ray (a Ray cluster; "
                     "pip install 'clawloop-synth[ray]'). The output is the same.")]
AddressOption = Annotated[str | None, typer.Option(
    "--address", help="With --engine ray: the cluster, 'auto' (the one `ray start --head` runs on this "
                      "machine) or ray://HOST:PORT (Ray Client). Default: a new local Ray instance.")]

WorkersOption = Annotated[int | None, typer.Option(
    "--workers", help="Calls run at once: with --engine local, processes on this machine (default: one per "
                      "CPU, or CLAWLOOP_SYNTH_PROCESSES; 1: this process only); with --engine ray, tasks on the "
                      "cluster (default: one per CPU of the cluster). The output is the same.")]


@contextmanager
def engine_for(name: str, address: str | None, workers: int | None = None) -> Iterator[Engine]:
    """The engine named on the command line, closed (a local Ray instance it started stopped) afterwards."""
    from clawloop_synth.engine import make_engine

    engine = make_engine(name, address, workers)
    try:
        yield engine
    finally:
        engine.close()
