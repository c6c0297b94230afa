"""The engine seam without Ray: the local engine is a lazy, ordered map, in this process or over a fork pool of
local processes (the same results either way); Ray is never imported for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from clawloop_synth.engine import local, local_engine, make_engine
from clawloop_synth.engine.local import PROCESSES_ENV, default_processes
from clawloop_synth.errors import InputError
from tests.conftest import REPO


def _twice(x: int) -> int:
    return 2 * x


def _plus(offset: int, x: int) -> int:
    return offset + x


def _pid(_: int, x: int) -> tuple[int, int]:
    return x, os.getpid()


def _slow_pid(_: int, x: int) -> tuple[int, int]:
    time.sleep(0.02)  # long enough that an idle worker takes the next batch: both workers get some
    return x, os.getpid()


def test_the_local_engine_maps_lazily_in_input_order() -> None:
    engine = local_engine(1)
    seen: list[int] = []

    def source() -> object:
        for i in range(5):
            seen.append(i)
            yield i

    results = engine.map_ordered(_twice, source(), batch=3)
    assert seen == []  # nothing runs before a result is asked for: a streaming stage keeps streaming
    assert next(iter(results)) == 0 and seen == [0]
    assert list(engine.map_ordered(_plus, [3, 1, 2], context=10)) == [13, 11, 12]
    assert engine.shared_budget(1.0, 10, 4) is None


@pytest.fixture
def pool_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """No probe: the pool takes over after the first item (the default waits for a second of work here)."""
    monkeypatch.setattr(local, "PROBE_SECONDS", 0.0)


def test_a_small_map_stays_in_this_process() -> None:
    assert {pid for _, pid in local_engine(2).map_ordered(_pid, list(range(50)), context=0)} == {os.getpid()}


def test_the_pooled_local_engine_gives_the_one_process_results(pool_at_once: None) -> None:
    pooled, alone = local_engine(2), local_engine(1)
    items = list(range(50))
    assert list(pooled.map_ordered(_plus, items, context=7, batch=3)) == list(alone.map_ordered(_plus, items,
                                                                                                context=7))
    assert list(pooled.map_ordered(_twice, iter(items), batch=4)) == [2 * x for x in items]
    # the work really left this process, on two workers
    pids = [pid for _, pid in pooled.map_ordered(_slow_pid, items, context=0, batch=2)]
    assert pids[0] == os.getpid() and os.getpid() not in pids[1:] and len(set(pids[1:])) == 2
    # items that fit in one batch stay here: a pool would only add its start-up
    assert {pid for _, pid in pooled.map_ordered(_pid, [1, 2], context=0, batch=2)} == {os.getpid()}


def test_the_pool_is_lazy_and_stops_when_the_caller_does(pool_at_once: None) -> None:
    seen: list[int] = []

    def source() -> object:
        for i in range(1000):
            seen.append(i)
            yield i

    results = local_engine(2).map_ordered(_twice, source(), batch=5)
    assert seen == []
    it = iter(results)
    assert next(it) == 0 and seen == [0]  # the first item runs here
    assert next(it) == 2
    assert len(seen) <= 1 + 2 * 2 * 5  # a bounded read-ahead: at most 2 batches per worker in flight
    it.close()  # type: ignore[attr-defined]


def test_the_process_count_comes_from_the_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROCESSES_ENV, "1")
    assert make_engine("local").workers() == 1 and make_engine("local", workers=3).workers() == 3
    monkeypatch.setenv(PROCESSES_ENV, "zero")
    with pytest.raises(InputError, match=PROCESSES_ENV):
        default_processes()
    monkeypatch.delenv(PROCESSES_ENV)
    assert make_engine("local").workers() == len(os.sched_getaffinity(0))


def test_engine_options_are_checked() -> None:
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        make_engine("spark")
    with pytest.raises(InputError, match="--address needs --engine ray"):
        make_engine("local", "auto")
    with pytest.raises(InputError, match="at least 1"):
        make_engine("local", workers=0)


def test_help_and_the_local_engine_never_import_ray() -> None:
    code = ("import sys\n"
            "from typer.testing import CliRunner\n"
            "from clawloop_synth.cli import app\n"
            "assert CliRunner().invoke(app, ['run', '--help']).exit_code == 0\n"
            "from clawloop_synth.engine import make_engine\n"
            "assert list(make_engine('local').map_ordered(str, [1])) == ['1']\n"
            "print('ray' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_an_inherited_context_goes_to_the_pool_from_the_first_item() -> None:
    # the fork is all the pool costs then: no item runs here first (one of the gate's clusters takes seconds)
    pids = [pid for _, pid in local_engine(2).map_ordered(_pid, list(range(6)), context=0, inherit=True)]
    assert os.getpid() not in pids
    assert [pid for _, pid in local_engine(2).map_ordered(_pid, [0], context=0, inherit=True)] == [os.getpid()]


def test_work_left_meanwhile_runs_here_while_the_workers_work_and_only_then(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from clawloop_synth.engine import pool

    monkeypatch.setattr(pool, "_meanwhile", [])  # the module's list, whatever this test leaves in it

    ran: list[str] = []

    def work(name: str) -> None:
        ran.append(f"{name} {threading.current_thread().name}")

    def broken() -> None:
        raise ImportError("a head start that fails is left to whoever needs it")

    works = [lambda: work("a"), broken, lambda: work("b"), lambda: work("forgotten")]
    pool.meanwhile(*works)
    pool.forget_meanwhile(works[-1])
    # the first result takes a while: the waits run every piece of work, on this thread, none after the map
    out = list(local_engine(2).map_ordered(_slow_pid, list(range(6)), context=0, inherit=True))
    assert [x for x, _ in out] == list(range(6))
    assert ran == ["a MainThread", "b MainThread"] and pool._meanwhile == []
    # no pool, no wait: the work stays for the next pool
    pool.meanwhile(lambda: work("late"))
    list(local_engine(1).map_ordered(_pid, list(range(3)), context=0))
    assert pool._meanwhile != [] and ran[-1] == "b MainThread"
