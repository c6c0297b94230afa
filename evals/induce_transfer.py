"""Transfer: tasks generated in an induced pack, re-verified in the hand-built pack.

Induce a pack (with the database) from all airline trajectories, then run the pipeline's stages up
to generation with ``--pack INDUCED`` (ingest, mine, cluster, generate: every accepted task passed
``verify`` in the induced pack), then verify each accepted task again with the hand-built airline
pack's tools and handlers (the task's state widened with the entities the hand-built pack's own
slicing gives the reference calls, from the same database). Prints the share that still passes
(target >= 90%), beside the baseline of the same tasks verified again in the induced pack, and
which rules fail in the hand-built pack.

    python evals/induce_transfer.py [--airline PATH --db DIR --per-cluster N --workdir W]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clawloop_synth.induce import induce_pack  # noqa: E402
from clawloop_synth.sim.pack import DomainPack, load_pack  # noqa: E402
from clawloop_synth.sim.verify import verify  # noqa: E402
from clawloop_synth.store import load_records  # noqa: E402
from clawloop_synth.types import TaskSpec  # noqa: E402


def cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-m", "clawloop_synth", *args], check=True, env=env, stdout=subprocess.DEVNULL)


def in_pack(task: TaskSpec, pack: DomainPack, base: dict[str, Any]) -> TaskSpec | None:
    """The task with the pack's tools, handlers and policy; None when the pack lacks one of its tools."""
    tools = {spec.name: spec for spec in pack.tools}
    if any(spec.name not in tools for spec in task.tools):
        return None
    calls = [(call.name, dict(call.arguments)) for call in task.reference.calls]
    if task.failure_exemplar is not None:
        calls += [(call.name, dict(call.arguments)) for call in task.failure_exemplar.calls]
    sliced = pack.slice_state(base, calls, distractors=0)  # what the hand-built pack's reference run needs
    for name, table in task.initial_state.items():  # the task's own entities (the same database) win
        if isinstance(table, dict) and isinstance(sliced.get(name), dict):
            sliced[name] = {**sliced[name], **table}
        else:
            sliced[name] = table
    return task.model_copy(update={"tools": [tools[spec.name] for spec in task.tools], "initial_state": sliced,
                                   "policy": pack.policy or task.policy})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = ROOT.parent / "shared" / "datasets" / "tau-bench"
    parser.add_argument("--airline", type=Path, default=data / "gpt-4o-airline.json")
    parser.add_argument("--db", type=Path, default=data / "airline-db")
    parser.add_argument("--per-cluster", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the work directory here.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = options.workdir or Path(tmp) / "work"
        started = time.perf_counter()
        pack_dir = induce_pack([options.airline], Path(tmp) / "induced", db=options.db)
        print(f"induced pack {pack_dir} in {time.perf_counter() - started:.1f} s "
              f"(load average {os.getloadavg()[0]:.1f})")
        started = time.perf_counter()
        cli("ingest", "-i", str(options.airline), "-w", str(work))
        cli("mine", "-w", str(work))
        cli("cluster", "-w", str(work))
        cli("generate", "-w", str(work), "--pack", str(pack_dir), "--per-cluster", str(options.per_cluster))
        tasks = list(load_records(work / "tasks", TaskSpec))
        print(f"generated {len(tasks)} accepted tasks in the induced pack in {time.perf_counter() - started:.1f} s")
        if not tasks:
            print("no accepted tasks: nothing to transfer")
            return
        hand = load_pack("airline", options.db)
        base = hand.load_state()
        induced_ok = sum(verify(task).ok for task in tasks)
        passed = 0
        failed: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        for task in tasks:
            moved = in_pack(task, hand, base)
            report = verify(moved) if moved is not None else None
            if report is not None and report.ok:
                passed += 1
                continue
            kinds[task.kind or "?"] += 1
            failed.update(["missing tool"] if report is None else [rule.rule for rule in report.failed()])
        share = induced_ok / len(tasks)
        print(f"\nre-verified in the induced pack (baseline): {induced_ok}/{len(tasks)} = {share:.1%}")
        print(f"re-verified in the hand-built airline pack: {passed}/{len(tasks)} = {passed / len(tasks):.1%} "
              f"(target >= 90%)")
        if failed:
            print("  failing rules: " + ", ".join(f"{rule} {n}" for rule, n in failed.most_common()))
            print("  failing task kinds: " + ", ".join(f"{kind} {n}" for kind, n in kinds.most_common()))


if __name__ == "__main__":
    main()
