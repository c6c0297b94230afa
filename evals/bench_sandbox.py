"""Micro-benchmark: the sandbox's cost per tool call against the same handler run as plain Python.

    python evals/bench_sandbox.py [--calls 20000] [--skip-attacks]

For three handlers (a trivial one, a dict lookup, a scan over 300 records) it times:
plain Python (``exec`` once with real builtins, then ``invoke(state, **args)``), plain Python plus
``json.dumps`` of the result (the encoding the environment needs anyway), and the sandboxed
``Handler.run`` (fresh globals per call, CPU timer, RLIMIT_AS guard, encoding, size check).
Then a breakdown of the fixed per-call overhead and the throughput of ``SimEnv.step`` and
``verify`` on the test suite's small bank task, in-process (shipped handlers) beside isolated (a
pooled worker process: what LLM-written, induced and user handlers get), beside a fork per call
(the alternative the pool avoids). Last, each hostile handler of issue 14 against the isolated
sandbox: wall time until it is contained (target < 2 s each) and the host's RSS after all of them
(target: within 50 MB of before). Figures are best-of-5 wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sim"))

from clawloop_synth.sim import (  # noqa: E402
    Limits,
    SandboxError,
    SimEnv,
    compile_handler,
    isolation,  # noqa: E402
    verify,
)
from clawloop_synth.sim.limits import cpu_timer, memory_guard  # noqa: E402
from clawloop_synth.sim.sandbox import compile_code, isolate_everything, trust_sources  # noqa: E402

HANDLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "trivial": ("def invoke(state, x):\n    return x\n", {"x": "ok"}),
    "lookup": (
        "def invoke(state, user_id):\n"
        "    user = state['users'].get(user_id)\n"
        "    if user is None:\n"
        "        return 'Error: user not found'\n"
        "    return {'user_id': user_id, 'name': user['name'], 'tags': user['tags']}\n",
        {"user_id": "u7"},
    ),
    "scan-300": (
        "def invoke(state, tag):\n"
        "    found = [uid for uid, user in state['users'].items() if tag in user['tags']]\n"
        "    return sorted(found)[:20]\n",
        {"tag": "b"},
    ),
}

STATE = {"users": {f"u{i}": {"name": f"user {i}", "tags": ["a", "b"] if i % 3 else ["c"]} for i in range(300)}}


def best_of(fn: Callable[[], None], calls: int, repeats: int = 5) -> float:
    """Best per-call seconds over ``repeats`` runs of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def plain(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["invoke"]  # type: ignore[no-any-return]


def fork_per_call(source: str, state: dict[str, Any], args: dict[str, Any]) -> str:
    """The design the worker pool replaces: fork, run, send the JSON back, exit."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        namespace: dict[str, Any] = {}
        exec(compile_code(source, "<fork>"), namespace)
        os.write(write, json.dumps(namespace["invoke"](state, **args)).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


DAG = "    x = []\n    for i in range(26):\n        x = [x, x]\n"
ATTACKS: dict[str, str] = {
    "C-call chain sum(map(sum, ...))": "def invoke(state):\n    return sum(map(sum, [range(10 ** 7)] * 10 ** 6))\n",
    "DAG result (26 levels)": "def invoke(state):\n" + DAG + "    return x\n",
    "DAG in an exception message": "def invoke(state):\n" + DAG + "    raise ValueError(x)\n",
    "DAG left in the state": "def invoke(state):\n" + DAG + "    state['d'] = x\n    return 'ok'\n",
    "memory bomb": "def invoke(state):\n    return [0] * 10 ** 9\n",
    "100 MB kept in the state": "def invoke(state):\n    state['blob'] = 'x' * 10 ** 8\n    return 'ok'\n",
    "endless loop": "def invoke(state):\n    while True:\n        pass\n",
    "lone surrogate": "def invoke(state):\n    return chr(0xd800)\n",
    "attribute on pow": "def invoke(state):\n    pow.stash = state\n    return 1\n",
    "300,000-line source": "def invoke(state):\n" + "".join(f"    x{i} = {i}\n" for i in range(300_000)),
}


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def attacks() -> None:
    limits = Limits()  # the defaults every caller gets
    cpu, memory, _, _ = limits.resolved(isolated=True)
    print(f"\nhostile handlers against the isolated sandbox (default limits: {cpu:g} s CPU per call, "
          f"{memory // 2**20} MiB, wall bound {isolation.wall_seconds(isolation.cpu_budget(cpu)):g} s; "
          f"load average {os.getloadavg()[0]:.1f}); wall time to containment, target < 2 s:")
    before = rss()
    print(f"  {'attack':<34} {'total':>7} {'compile':>8} {'call':>6}")
    for label, source in ATTACKS.items():
        start = time.perf_counter()
        compiled = start
        try:
            handler = compile_handler(source)
            compiled = time.perf_counter()
            handler({}, {}, limits)
            outcome = "NOT CONTAINED"
        except SandboxError as exc:
            outcome = str(exc)[:70]
        end = time.perf_counter()
        print(f"  {label:<34} {end - start:5.2f} s {compiled - start:6.2f} s {end - compiled:4.2f} s  {outcome}")
    print(f"host RSS: {before / 2**20:.0f} MB before, {rss() / 2**20:.0f} MB after "
          f"({(rss() - before) / 2**20:+.0f} MB; target within 50 MB); worker processes started: "
          f"{isolation.workers_started()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--skip-attacks", action="store_true")
    options = parser.parse_args()
    calls = options.calls
    print(f"{'handler':<10} {'plain µs':>9} {'+json µs':>9} {'in-proc µs':>11} {'isolated µs':>12} "
          f"{'fork µs':>9} {'isolated calls/s':>17}")
    for name, (source, args) in HANDLERS.items():
        fn = plain(source)
        trust_sources([source])
        local = compile_handler(source)
        isolate_everything(True)
        remote = compile_handler(source)
        isolate_everything(False)
        n = calls if name != "scan-300" else calls // 10
        t_plain = best_of(lambda fn=fn, args=args: fn(STATE, **args), n)
        t_json = best_of(lambda fn=fn, args=args: json.dumps(fn(STATE, **args)), n)
        t_local = best_of(lambda h=local, args=args: h.run(STATE, args), n)
        t_remote = best_of(lambda h=remote, args=args: h.run(STATE, args), max(n // 10, 200))
        t_fork = best_of(lambda source=source, args=args: fork_per_call(source, STATE, args), 50, repeats=3)
        print(f"{name:<10} {t_plain * 1e6:9.2f} {t_json * 1e6:9.2f} {t_local * 1e6:11.2f} {t_remote * 1e6:12.1f} "
              f"{t_fork * 1e6:9.0f} {1 / t_remote:17.0f}")

    print("\nfixed overhead per in-process call, µs:")
    code = compile_code(HANDLERS["trivial"][0], "<bench>")
    parts = {
        "fresh globals + exec module": lambda: exec(code, {"__builtins__": {}}),
        "CPU timer arm+disarm": lambda: (cpu_timer.arm(1.0, True), cpu_timer.disarm(True)),
        "RLIMIT_AS enter+exit": lambda: (memory_guard.enter(512 * 2**20), memory_guard.exit()),
    }
    for label, fn in parts.items():
        print(f"  {label:<30} {best_of(fn, calls) * 1e6:7.2f}")

    from sim_bank import make_task

    task = make_task()
    for mode, everything in (("in-process", False), ("isolated", True)):
        isolate_everything(everything)
        trust_sources(t.handler for t in task.tools)  # the bank handlers stand in for a shipped pack
        env = SimEnv(task, max_steps=10**9)
        step_call = task.reference.calls[0]
        t_step = best_of(lambda env=env, step_call=step_call: env.step(step_call), calls // (10 if everything else 1))
        tasks = [task.model_copy(update={"id": f"t{i}"}) for i in range(500 if not everything else 100)]
        start = time.perf_counter()
        ok = sum(verify(t).ok for t in tasks)
        elapsed = time.perf_counter() - start
        print(f"{mode:>10}: SimEnv.step (lookup, schema-validated) {t_step * 1e6:.1f} µs/call; "
              f"verify {len(tasks) / elapsed:.0f} tasks/s on the bank task ({ok}/{len(tasks)} ok)")
    isolate_everything(False)
    if not options.skip_attacks:
        attacks()


if __name__ == "__main__":
    main()
