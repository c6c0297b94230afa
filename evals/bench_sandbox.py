"""Micro-benchmark: the sandbox's cost per tool call against the same handler run as plain Python.

    python evals/bench_sandbox.py [--calls 20000]

For three handlers (a trivial one, a dict lookup, a scan over 300 records) it times:
plain Python (``exec`` once with real builtins, then ``invoke(state, **args)``), plain Python plus
``json.dumps`` of the result (the encoding the environment needs anyway), and the sandboxed
``Handler.run`` (fresh globals per call, CPU timer, RLIMIT_AS guard, encoding, size check).
Then a breakdown of the fixed per-call overhead and the throughput of ``SimEnv.step`` and
``verify`` on the test suite's small bank task. Figures are best-of-5 wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sim"))

from clawloop_synth.sim import SimEnv, compile_handler, verify  # noqa: E402
from clawloop_synth.sim.limits import cpu_timer, memory_guard  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    calls = parser.parse_args().calls
    print(f"{'handler':<10} {'plain µs':>9} {'+json µs':>9} {'sandbox µs':>11} {'ratio':>7} {'ratio+json':>11}")
    for name, (source, args) in HANDLERS.items():
        fn, handler = plain(source), compile_handler(source)
        n = calls if name != "scan-300" else calls // 10
        t_plain = best_of(lambda fn=fn, args=args: fn(STATE, **args), n)
        t_json = best_of(lambda fn=fn, args=args: json.dumps(fn(STATE, **args)), n)
        t_box = best_of(lambda handler=handler, args=args: handler.run(STATE, args), n)
        print(f"{name:<10} {t_plain * 1e6:9.2f} {t_json * 1e6:9.2f} {t_box * 1e6:11.2f} "
              f"{t_box / t_plain:7.1f} {t_box / t_json:11.1f}")

    print("\nfixed overhead per call, µs:")
    code = compile_handler(HANDLERS["trivial"][0]).code
    parts = {
        "fresh globals + exec module": lambda: exec(code, {"__builtins__": {}}),
        "CPU timer arm+disarm": lambda: (cpu_timer.arm(1.0, True), cpu_timer.disarm(True)),
        "RLIMIT_AS enter+exit": lambda: (memory_guard.enter(512 * 2**20), memory_guard.exit()),
    }
    for label, fn in parts.items():
        print(f"  {label:<30} {best_of(fn, calls) * 1e6:7.2f}")

    from sim_bank import make_task

    task = make_task()
    env = SimEnv(task, max_steps=10**9)
    step_call = task.reference.calls[0]
    t_step = best_of(lambda: env.step(step_call), calls)
    print(f"\nSimEnv.step (lookup, schema-validated, cached): {t_step * 1e6:.2f} µs/call")
    tasks = [make_task(id=f"t{i}") for i in range(500)]
    start = time.perf_counter()
    ok = sum(verify(t).ok for t in tasks)
    elapsed = time.perf_counter() - start
    print(f"verify: {len(tasks) / elapsed:.0f} tasks/s on the bank task ({ok}/{len(tasks)} ok, 3 calls + exemplar)")


if __name__ == "__main__":
    main()
