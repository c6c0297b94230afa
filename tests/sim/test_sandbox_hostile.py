"""Hostile handlers: each is stopped with a clear SandboxError and the host keeps working."""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clawloop_synth.sim import HandlerError, Limits, SandboxError, compile_handler

FAST = Limits(cpu_seconds=0.2, memory_bytes=256 * 2**20)
NORMAL = "def invoke(state, x):\n    state['seen'] = state.get('seen', 0) + 1\n    return {'double': x * 2}\n"


def body(*lines: str) -> str:
    return "def invoke(state, **args):\n" + "".join(f"    {line}\n" for line in lines)


# (id, source, expected words in the error). Policy violations are refused at compile time.
POLICY_CASES = [
    ("subclasses-walk", body("return ().__class__.__bases__[0].__subclasses__()"), "'.__class__'"),
    ("globals-walk", body("return invoke.__globals__"), "'.__globals__'"),
    ("builtin-self", body("return len.__self__"), "'.__self__'"),
    ("code-object", body("return (lambda: 0).__code__"), "'.__code__'"),
    ("str-format-field", body("return '{0.__class__.__mro__}'.format(1)"), "'.format'"),
    ("format-map", body("return '{x.y}'.format_map({'x': 1})"), "'.format_map'"),
    ("format-via-class", body("f = str.format", "return f('{0.__class__}', 1)"), "'.format'"),
    ("getattr", body("return getattr(1, 'real')"), "'getattr'"),
    ("eval", body("return eval('1 + 1')"), "'eval'"),
    ("exec", body("exec('x = 1')", "return 1"), "'exec'"),
    ("open", body("open('PWNED', 'w').write('x')", "return 1"), "'open'"),
    ("dunder-import", body("return __import__('os').getcwd()"), "'__import__'"),
    ("import", "import os\n" + body("return os.getcwd()"), "Import is not allowed"),
    ("from-import", body("from os import path", "return 1"), "ImportFrom is not allowed"),
    ("generator-frame", body("g = (x for x in [1])", "return g.gi_frame.f_back.f_globals"), "'.gi_frame'"),
    ("frame-globals", body("return args.f_globals"), "'.f_globals'"),
    ("traceback-frame", "def invoke(state):\n    try:\n        1 / 0\n    except Exception as e:\n"
                        "        return e.__traceback__.tb_frame\n", "'.__traceback__'"),
    ("tb-attr", body("return args.tb_frame"), "'.tb_frame'"),
    ("globals", body("return globals()"), "'globals'"),
    ("vars", body("return vars()"), "'vars'"),
    ("type", body("return type(1)"), "'type'"),
    ("mro", body("return dict.mro()"), "'.mro'"),
    ("class", "class X:\n    pass\n" + body("return 1"), "ClassDef is not allowed"),
    ("yield", body("yield 1"), "Yield is not allowed"),
    ("bare-except", "def invoke(state):\n    try:\n        return 1\n    except:\n        return 2\n",
     "bare 'except:'"),
    ("finally", "def invoke(state):\n    try:\n        return 1\n    finally:\n        return 2\n",
     "try/finally"),
    ("with", body("with args as f:", "    return 1"), "With is not allowed"),
    ("underscore-name", body("_sandbox_pow = 1", "return 1"), "'_sandbox_pow'"),
    ("codec-import", body("return 'x'.encode('cp1252')"), "'.encode'"),
    ("no-invoke", "def run(state):\n    return 1\n", "must define 'def invoke"),
]

# Cases that compile and are stopped while running.
RUNTIME_CASES = [
    # An isolated worker starved of CPU on a loaded machine is stopped by the wall clock instead.
    ("endless-loop", body("while True:", "    pass"), "CPU time limit|wall-clock limit"),
    ("loop-swallowing-errors", body("while True:", "    try:", "        while True:", "            pass",
                                     "    except Exception:", "        pass"), "CPU time limit|wall-clock limit"),
    ("memory-bomb", body("return [0] * 10 ** 9"), "memory limit"),
    # Each 100 MB string costs page faults that count as CPU time, so on a loaded machine the 0.2 s CPU
    # limit may stop this before the memory limit does; "memory-bomb" above checks the memory limit alone.
    ("memory-growth", body("x = []", "while True:", "    x.append(' ' * 10 ** 8)"),
     "memory limit|CPU time limit|wall-clock limit"),
    ("deep-recursion", "def f(n):\n    return f(n + 1)\n" + body("return f(0)"), "recursion depth"),
    # Building 100,000 nested lists triggers garbage collections whose cost grows with the host's
    # heap (large once litellm is imported), so the CPU limit may stop it before the recursion does.
    ("deep-nesting-result", body("x = []", "for i in range(100000):", "    x = [x]", "return x"),
         "recursion depth|CPU time limit|wall-clock limit|deeper than"),
    ("huge-result", body("return 'x' * 2000000"), "exceeds the limit"),
    ("huge-power", body("return 7 ** 10 ** 8"), "integer power"),
    ("huge-pow-builtin", body("return pow(7, 10 ** 8)"), "integer power"),
    ("huge-modular-power", body("return pow(3, 2 ** 20000, 2 ** 20000 + 1)"), "modular power"),
    ("c-level-endless-sum", body("return sum(range(10 ** 12))"), "range of"),
    ("generator-result", body("return (x for x in [1])"), "not JSON"),
    ("function-result", body("return invoke"), "not JSON"),
    ("cyclic-result", body("x = []", "x.append(x)", "return x"), "not JSON|cyclic"),
]


@pytest.fixture(autouse=True)
def host_unharmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After every case: limits restored, timer off, no file written, a normal handler still works."""
    monkeypatch.chdir(tmp_path)
    before = resource.getrlimit(resource.RLIMIT_AS)
    yield
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert not (tmp_path / "PWNED").exists()
    state: dict[str, int] = {}
    assert compile_handler(NORMAL)(state, {"x": 21}) == {"double": 42}
    assert state == {"seen": 1}


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in POLICY_CASES], ids=[c[0] for c in POLICY_CASES])
def test_policy_refuses(source: str, expected: str) -> None:
    with pytest.raises(SandboxError, match="policy") as info:
        compile_handler(source)
    assert expected in str(info.value)
    assert not isinstance(info.value, HandlerError)


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in RUNTIME_CASES], ids=[c[0] for c in RUNTIME_CASES])
def test_runtime_limits_stop(source: str, expected: str) -> None:
    handler = compile_handler(source)
    with pytest.raises(SandboxError) as info:
        handler({}, {}, FAST)
    assert any(part in str(info.value) for part in expected.split("|"))
    assert not isinstance(info.value, HandlerError)


@pytest.mark.parametrize("case", ["endless-loop", "memory-bomb"])
def test_limits_hold_in_a_worker_thread(case: str) -> None:
    source, expected = next(c[1:] for c in RUNTIME_CASES if c[0] == case)
    handler = compile_handler(source)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            handler({}, {}, FAST)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test inspects whatever escaped
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert isinstance(outcome[0], SandboxError)
    assert any(part in str(outcome[0]) for part in expected.split("|"))


def test_host_can_allocate_past_the_headroom_afterwards() -> None:
    with pytest.raises(SandboxError, match="memory limit"):
        compile_handler(body("return [0] * 10 ** 9"))({}, {}, FAST)
    big = [0] * (48 * 2**20)  # 384 MiB, more than FAST's 256 MiB headroom
    assert len(big) == 48 * 2**20
    del big


def test_handler_exception_is_a_handler_error() -> None:
    handler = compile_handler("def invoke(state, key):\n    return state[key]\n")
    with pytest.raises(HandlerError) as info:
        handler({}, {"key": "missing"})
    assert info.value.type_name == "KeyError"
    assert "'missing'" in info.value.message
    assert "line 2" in str(info.value)


def test_catching_guards_does_not_help() -> None:
    source = body("try:", "    return 7 ** 10 ** 8", "except Exception:", "    return 'caught'")
    with pytest.raises(SandboxError, match="integer power"):
        compile_handler(source)({}, {}, FAST)


def test_no_state_survives_between_calls() -> None:
    source = "SEEN = []\n" + body("SEEN.append(1)", "return len(SEEN)")
    handler = compile_handler(source)
    assert [handler({}, {}) for _ in range(3)] == [1, 1, 1]


def test_local_names_that_shadow_denied_builtins_are_fine() -> None:
    handler = compile_handler("def invoke(state, type, id):\n    return {'type': type, 'id': id}\n")
    assert handler({}, {"type": "a", "id": 3}) == {"type": "a", "id": 3}


def test_compile_is_cached_by_source() -> None:
    assert compile_handler(NORMAL) is compile_handler(NORMAL)
    assert len(POLICY_CASES) + len(RUNTIME_CASES) >= 15


def test_concurrent_worker_threads_share_limits_safely() -> None:
    normal = compile_handler(NORMAL)
    spin = compile_handler(RUNTIME_CASES[0][1])
    outcomes: list[object] = []

    def work() -> None:
        values = [normal({}, {"x": i}) for i in range(200)]
        try:
            spin({}, {}, Limits(cpu_seconds=0.1))
        except SandboxError as exc:
            stopped = "CPU time limit" in str(exc) or "wall-clock limit" in str(exc)
            outcomes.append((values == [{"double": 2 * i} for i in range(200)], stopped))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == [(True, True)] * 3


# ------------------------------------------------------------------ issue 14: process isolation

def run_guarded(fn: Callable[[], object], guard: float = 60.0) -> object:
    """Run ``fn`` on a thread and return what it returned or raised; a generous hang guard, not a timing."""
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:  # noqa: BLE001 - the test inspects whatever escaped
            outcome.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout=guard)
    assert not thread.is_alive(), "the sandbox did not contain the handler (hang guard fired)"
    return outcome[0]


DAG = ("x = []", "for i in range(26):", "    x = [x, x]")

# Cases that only an OS-level limit can stop (one C call, or work the host did outside the limits).
ISOLATION_CASES = [
    ("c-call-chain", body("return sum(map(sum, [range(10 ** 7)] * 10 ** 6))"), "CPU time limit|wall-clock"),
    ("c-call-sorted", body("return len(sorted(map(str, range(10 ** 7))) * 10 ** 3)"),
     "CPU time limit|wall-clock|memory"),
    ("dag-result", body(*DAG, "return x"), "values|CPU time limit|wall-clock|memory"),
    ("dag-in-dict-result", body(*DAG, "return {'a': x}"), "values|CPU time limit|wall-clock|memory"),
    ("nan-result", body("return float('nan')"), "not JSON"),
    ("inf-in-result", body("return {'x': float('inf')}"), "not JSON"),
    ("lone-surrogate-str", body("return 'ok ' + chr(0xd800)"), "surrogate"),
    ("lone-surrogate-json", body("return {'name': chr(0xdfff)}"), "surrogate"),
    ("big-int-result", body("return 2 ** 70"), "64-bit"),
    ("over-deep-result", body("x = []", "for i in range(200):", "    x = [x]", "return x"), "deeper than"),
]


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in ISOLATION_CASES],
                         ids=[c[0] for c in ISOLATION_CASES])
def test_isolation_contains(source: str, expected: str) -> None:
    handler = compile_handler(source)
    outcome = run_guarded(lambda: handler({}, {}, FAST))
    assert isinstance(outcome, SandboxError), outcome
    assert not isinstance(outcome, HandlerError)
    assert any(part in str(outcome) for part in expected.split("|")), str(outcome)


def test_exception_message_of_a_dag_is_bounded() -> None:
    handler = compile_handler(body(*DAG, "raise ValueError(x)"))
    outcome = run_guarded(lambda: handler({}, {}, FAST))
    assert isinstance(outcome, SandboxError), outcome
    assert len(str(outcome)) < 2000


def test_exception_message_of_a_huge_string_is_clipped() -> None:
    handler = compile_handler(body("raise KeyError('k' * 10 ** 7)"))
    outcome = run_guarded(lambda: handler({}, {}, FAST))
    assert isinstance(outcome, HandlerError), outcome
    assert outcome.type_name == "KeyError"
    assert len(outcome.message) < 1000


@pytest.mark.parametrize("what", ["dag", "cycle", "deep", "surrogate", "nan"])
def test_bad_state_is_rejected_and_the_host_state_is_unchanged(what: str) -> None:
    make = {
        "dag": (*DAG, "state['d'] = x"),
        "cycle": ("x = []", "x.append(x)", "state['d'] = x"),
        "deep": ("x = []", "for i in range(200):", "    x = [x]", "state['d'] = x"),
        "surrogate": ("state['d'] = chr(0xd800)",),
        "nan": ("state['d'] = float('nan')",),
    }[what]
    handler = compile_handler(body(*make, "return 'ok'"))
    state = {"keep": [1, 2]}
    outcome = run_guarded(lambda: handler(state, {}, FAST))
    assert isinstance(outcome, SandboxError), outcome
    assert state == {"keep": [1, 2]}


def test_dag_left_in_state_does_not_hang_verify() -> None:
    from sim_bank import make_task

    from clawloop_synth.sim import verify

    task = make_task()
    hostile = "\n".join(["def invoke(state, account_id):", *(f"    {line}" for line in DAG),
                         "    state['accounts'][account_id]['frozen'] = x", "    return 'frozen'", ""])
    tools = [t.model_copy(update={"handler": hostile}) if t.name == "freeze" else t for t in task.tools]
    report = run_guarded(lambda: verify(task.model_copy(update={"tools": tools})))
    rules = {r.rule: r for r in report.rules}  # type: ignore[attr-defined]
    assert not rules["handlers_sound"].passed
    assert not rules["reference_passes"].passed


def test_builtins_take_no_attributes_so_tasks_cannot_share_state() -> None:
    names = ["pow", "range", "print", "len", "sorted", "dict", "Exception"]
    for name in names:
        stash = compile_handler(body(f"{name}.stash = state['secret']", "return 'stored'"))
        outcome = run_guarded(lambda stash=stash: stash({"secret": "s3cr3t"}, {}))
        assert isinstance(outcome, HandlerError), (name, outcome)
    peek = compile_handler(body("return [repr(x) for x in [pow, range, print]]"))
    assert "s3cr3t" not in str(peek({}, {}))


def test_the_memory_limit_is_the_same_on_every_call() -> None:
    # 150 MiB under a 256 MiB headroom: must pass every time, whatever ran before.
    near = compile_handler(body("x = ' ' * (150 * 2 ** 20)", "return len(x)"))
    bomb = compile_handler(body("return [0] * 10 ** 9"))
    roomy = Limits(cpu_seconds=5.0, memory_bytes=FAST.memory_bytes)  # page faults count as CPU time
    outcomes = []
    for _ in range(4):
        outcomes.append(near({}, {}, roomy))
        with pytest.raises(SandboxError, match="memory limit"):
            bomb({}, {}, FAST)
    assert outcomes == [150 * 2**20] * 4


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def test_memory_does_not_stay_in_the_host() -> None:
    grow = compile_handler(body("state['blob'] = 'x' * (60 * 2 ** 20)", "return 'ok'"))
    before = _rss()
    for _ in range(3):
        state: dict[str, object] = {}
        outcome = run_guarded(lambda state=state: grow(state, {}, FAST))
        assert isinstance(outcome, SandboxError), outcome
        assert "state" in str(outcome)
        assert state == {}
    assert _rss() - before < 50 * 2**20


@pytest.mark.parametrize("kind", ["lines", "nodes"])
def test_huge_sources_are_refused_quickly(kind: str) -> None:
    if kind == "lines":
        source = body(*(f"x{i} = {i}" for i in range(300_000)), "return 1")
    else:  # under the size limit, but a very large tree
        source = body("x = [" + ",".join(["1"] * 120_000) + "]", "return 1")
    outcome = run_guarded(lambda: compile_handler(source))
    assert isinstance(outcome, SandboxError), type(outcome)
    assert "policy" in str(outcome)


def test_isolated_handler_sees_and_changes_the_state() -> None:
    handler = compile_handler(body("state['n'] = state.get('n', 0) + 1", "state['items'].append(args['x'])",
                                   "return {'n': state['n']}"))
    state = {"items": []}
    assert handler(state, {"x": "a"}) == {"n": 1}
    assert handler(state, {"x": "b"}) == {"n": 2}
    assert state == {"n": 2, "items": ["a", "b"]}


def test_handler_error_keeps_the_writes_made_before_it() -> None:
    handler = compile_handler(body("state['n'] = 1", "return state['missing']"))
    state: dict[str, object] = {}
    with pytest.raises(HandlerError, match="KeyError"):
        handler(state, {})
    assert state == {"n": 1}


def test_results_are_deterministic_across_worker_restarts() -> None:
    order = compile_handler(body("return list({'alpha', 'beta', 'gamma', 'delta', 'eps'})"))
    spin = compile_handler(body("return sum(map(sum, [range(10 ** 7)] * 10 ** 6))"))
    first = order({}, {})
    run_guarded(lambda: spin({}, {}, FAST))  # kills and respawns a worker
    assert order({}, {}) == first


def test_shipped_handlers_stay_in_process_and_others_are_isolated() -> None:
    from clawloop_synth.sim.pack_folder import load_pack

    pack = load_pack("demo")  # its handlers carry the pack's prelude
    assert not any(compile_handler(tool.handler).isolated for tool in pack.tools)
    assert all(compile_handler(tool.handler + "\n").isolated for tool in pack.tools[:2])  # edited: not shipped
    assert compile_handler(NORMAL).isolated


def test_pack_rules_run_isolated_with_their_entry() -> None:
    rule = compile_handler("def check(state, call):\n    return 'no' if state.get('x') else None\n", entry="check")
    assert rule.isolated and rule.entry == "check"
    assert rule({"x": 1}, {"call": {"name": "t"}}) == "no"
    assert rule({}, {"call": {"name": "t"}}) is None


@pytest.mark.parametrize("where", ["arguments", "state"])
def test_lone_surrogate_going_in_is_refused_before_the_worker(where: str) -> None:
    handler = compile_handler(NORMAL)
    state: dict[str, object] = {"name": chr(0xD800)} if where == "state" else {}
    args: dict[str, object] = {"x": chr(0xDC00)} if where == "arguments" else {"x": 1}
    before = dict(state)
    outcome = run_guarded(lambda: handler(state, args, FAST))
    assert isinstance(outcome, SandboxError), outcome
    assert "not JSON" in str(outcome)
    assert state == before


def test_a_worker_that_hit_a_limit_does_not_serve_the_next_task() -> None:
    from clawloop_synth.sim import isolation

    bomb = compile_handler(body("return [0] * 10 ** 9"))
    normal = compile_handler(NORMAL)
    normal({}, {"x": 1})
    started = isolation.workers_started()
    outcome = run_guarded(lambda: bomb({}, {}, FAST))
    assert isinstance(outcome, SandboxError) and "memory limit" in str(outcome), outcome
    assert normal({}, {"x": 2}) == {"double": 4}
    assert isolation.workers_started() > started  # the worker that held the bomb's pages was replaced


def test_a_stopped_worker_is_killed_by_the_wall_clock() -> None:
    import os
    import time

    from clawloop_synth.sim import isolation

    spin = compile_handler(body("while True:", "    pass"))
    worker = isolation._pool.idle[-1]  # the worker that compiled it takes the call (last in, first out)

    def freeze() -> None:
        time.sleep(0.05)
        os.kill(worker.proc.pid, signal.SIGSTOP)  # no CPU at all: only the wall clock can end the call

    threading.Thread(target=freeze, daemon=True).start()
    outcome = run_guarded(lambda: spin({}, {}, Limits(cpu_seconds=5.0)))
    assert isinstance(outcome, SandboxError), outcome
    assert "wall-clock limit" in str(outcome) or "CPU time limit" in str(outcome)
    assert worker.proc.poll() is not None  # killed, not left stopped


def test_the_host_garbage_collector_does_not_run_inside_a_handler_call() -> None:
    # The CPU limit counts process time: a full collection of the host's heap that a handler's
    # allocations happen to trigger would be billed to the handler and could time it out.
    import gc

    from clawloop_synth.sim.trust import trust_sources

    source = body("return len([[i] for i in range(20000)])")
    trust_sources([source])  # in-process, where the host's heap is
    handler = compile_handler(source)
    assert not handler.isolated
    collections: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        assert handler({}, {}) == 20000
        during = len(collections)
        _ = [[i] for i in range(20000)]  # the same allocations outside a handler do collect
        after = len(collections) - during
    finally:
        gc.callbacks.remove(record)
    assert gc.isenabled()
    assert after > 0
    assert during == 0
