"""Progress display for long CLI work (rich), quiet when the command prints JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["counter"]


@contextmanager
def counter(stage: str, unit: str, *, total: int | None = None, quiet: bool = False) -> Iterator[Callable[[], None]]:
    """Yield a ``tick()`` that advances a progress bar on stderr by one ``unit``."""
    if quiet:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(f"[bold]{stage}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
               TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(stage, total=total)
        yield lambda: progress.advance(task)
