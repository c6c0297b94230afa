"""Run many (agent, task, attempt) episodes concurrently and hand them back in a fixed order.

One event loop in a worker thread runs ``concurrency`` episodes at a time: scripted agents' episodes
go to a thread pool (SimEnv's sandboxed handlers are CPU work), LLM agents' episodes are coroutines
on the loop (their model calls overlap; their SimEnv steps go to the same pool). Each episode depends
only on (agent, task, attempt), and results are yielded in job order (agents, then tasks, then
attempts), so the output is the same whatever the scheduling.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from clawloop_synth.agents import run_agent
from clawloop_synth.types import Rollout, TaskSpec

__all__ = ["Job", "iter_rollouts", "make_jobs"]


@dataclass(frozen=True)
class Job:
    agent: Any  # a scripted Agent (``episode``) or an LLMAgent (``arun``)
    task: TaskSpec
    attempt: int


def make_jobs(agents: Sequence[Any], tasks: Sequence[TaskSpec], k: int) -> list[Job]:
    """Every agent on every task, ``k`` attempts each, in output order."""
    return [Job(agent, task, attempt) for agent in agents for task in tasks for attempt in range(k)]


class _Done:
    pass


def _start_workers(pool: ThreadPoolExecutor, count: int) -> None:
    """Start every worker thread before any tool handler runs.

    While a handler runs, the sandbox lowers the process's address-space limit; a thread started
    then (its stack plus a fresh malloc arena) can fail with "can't start new thread". Threads that
    exist already, and have allocated once, are not affected.
    """
    started = threading.Barrier(count)
    for future in [pool.submit(started.wait) for _ in range(count)]:
        future.result()


async def _produce(jobs: Sequence[Job], concurrency: int, out: queue.Queue[Any], stop: threading.Event) -> None:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rollout") as pool:
        _start_workers(pool, concurrency)

        async def one(index: int, job: Job) -> None:
            try:
                if hasattr(job.agent, "arun"):
                    rollout = await job.agent.arun(job.task, job.attempt, executor=pool)
                else:
                    rollout = await loop.run_in_executor(
                        pool, functools.partial(run_agent, job.agent, job.task, attempt=job.attempt))
                out.put((index, rollout))
            except BaseException as exc:  # handed to the consumer, which re-raises it
                stop.set()
                out.put(exc)
            finally:
                slots.release()

        try:
            for index, job in enumerate(jobs):
                await slots.acquire()
                if stop.is_set():
                    break
                task = asyncio.ensure_future(one(index, job))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        finally:
            for agent in {id(j.agent): j.agent for j in jobs}.values():
                if hasattr(agent, "aclose"):
                    await agent.aclose()
    out.put(_Done())


def _in_this_thread(jobs: Sequence[Job], tick: Callable[[], None] | None) -> Iterator[Rollout]:
    """In-process agents one after another: they compute and never wait, so threads would only
    contend for the GIL (the airline rollout took 41 s on 8 threads, 27 s on one), and in the main
    thread the sandbox's CPU limit is a signal timer instead of a polling watchdog."""
    for job in jobs:
        rollout = run_agent(job.agent, job.task, attempt=job.attempt)
        if tick is not None:
            tick()
        yield rollout


def iter_rollouts(jobs: Sequence[Job], concurrency: int = 8,
                  tick: Callable[[], None] | None = None) -> Iterator[Rollout]:
    """Run ``jobs`` ``concurrency`` at a time; yield their Rollouts in job order.

    The first exception an episode raises is re-raised here (the remaining jobs are not started).
    Closing the iterator early stops starting new jobs.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if not any(hasattr(job.agent, "arun") for job in jobs):
        yield from _in_this_thread(jobs, tick)
        return
    out: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()

    def loop() -> None:
        try:
            asyncio.run(_produce(jobs, concurrency, out, stop))
        except BaseException as exc:  # e.g. closing an agent failed: never leave the consumer waiting
            out.put(exc)

    thread = threading.Thread(target=loop, name="rollout-loop", daemon=True)
    thread.start()
    waiting: dict[int, Rollout] = {}
    following = 0
    try:
        while following < len(jobs):
            item = out.get()
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, _Done):
                break
            index, rollout = item
            waiting[index] = rollout
            if tick is not None:
                tick()
            while following in waiting:
                yield waiting.pop(following)
                following += 1
    finally:
        stop.set()
        thread.join()
