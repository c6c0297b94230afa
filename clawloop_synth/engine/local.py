"""The local engine: every call in this process, one after another, in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["LocalEngine"]

T = TypeVar("T")
R = TypeVar("R")


class LocalEngine:
    """The default engine. ``map_ordered`` is a lazy map: nothing runs before its result is asked for,
    so a stage that streams keeps streaming."""

    name = "local"
    in_process = True

    def workers(self) -> int:
        return 1

    def map_ordered(self, fn: Callable[..., R], items: Iterable[T], *, context: Any = None,
                    batch: int = 1) -> Iterator[R]:
        if context is None:
            return map(fn, items)
        return (fn(context, item) for item in items)

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Runs ``fn`` now, in this process; the future is done when this returns."""
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # handed to the caller through the future, as a worker's would be
            future.set_exception(exc)
        return future

    def cancel(self, future: Future[Any]) -> None:
        return None  # already done: submit ran it

    def shared_budget(self, max_cost: float | None, max_requests: int | None, concurrency: int) -> Any:
        return None

    def close(self) -> None:
        return None
