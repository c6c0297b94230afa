"""A pack's policy rules against real trajectories: what they flag in successful runs, gold actions and failed runs.

    python evals/rules_on_traces.py ../shared/datasets/tau-bench/gpt-4o-airline.json \\
        --db ../shared/datasets/tau-bench/airline-db [--pack airline] [--show 12]

Each trajectory's recorded calls run, in order, through the pack's handlers on a fresh copy of the
database, and the rules judge each call on the state before it (as ``SimEnv`` does: a call the API
refused is not counted). The gold actions run the same way on another copy. Printed: flags in the
successful trajectories and in the gold actions (both should be 0: the rules would otherwise forbid
what the policy allows), and flags in the failed ones by rule, with the forbidden cancellations listed.
Beside them, the baseline of no rules at all (which flags nothing anywhere, so it finds none of the
real violations either).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawloop_synth.ingest import iter_traces  # noqa: E402
from clawloop_synth.sim.pack import load_pack  # noqa: E402
from clawloop_synth.sim.rules import RuleSet, Violation, pack_rules, replay_violations  # noqa: E402
from clawloop_synth.types import Trace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("traces")
    parser.add_argument("--db", required=True)
    parser.add_argument("--pack", default="airline")
    parser.add_argument("--show", type=int, default=12, help="violations listed per group")
    args = parser.parse_args()
    pack = load_pack(args.pack, db=Path(args.db))
    rules = RuleSet(pack_rules(pack))
    base = pack.load_state()
    traces: list[Trace] = list(iter_traces([args.traces]))
    started = time.perf_counter()
    groups: dict[str, list[tuple[str, Violation]]] = {"success": [], "gold": [], "failed": []}
    flagged_failed: set[str] = set()
    gold_seen: set[str] = set()
    for trace in traces:
        recorded = [(s.call.name, s.call.arguments) for s in trace.tool_steps() if s.result is not None]
        found = replay_violations(pack, rules, base, recorded)
        group = "success" if trace.reward == 1.0 else "failed"
        groups[group].extend((trace.id, v) for v in found)
        if found and group == "failed":
            flagged_failed.add(trace.id)
        task = trace.task_id or trace.id  # the trials of a task share its gold actions: judge them once
        if task not in gold_seen:
            gold_seen.add(task)
            gold = [(a.name, a.arguments) for a in trace.gold_actions or []]
            groups["gold"].extend((f"task {task}", v) for v in replay_violations(pack, rules, base, gold))
    seconds = time.perf_counter() - started
    successes = sum(t.reward == 1.0 for t in traces)
    print(f"{len(traces)} trajectories ({successes} successful), {len(pack.rules)} rules of pack {pack.name}; "
          f"{seconds:.1f} s")
    print(f"{'figure':<44} {'rules':>8} {'no rules':>9} {'target':>8}")
    print(f"{'flags in successful trajectories':<44} {len(groups['success']):>8} {0:>9} {'0':>8}")
    print(f"{'flags in gold actions (' + str(len(gold_seen)) + ' tasks)':<44} {len(groups['gold']):>8} {0:>9} {'0':>8}")
    print(f"{'flags in failed trajectories':<44} {len(groups['failed']):>8} {0:>9} {'counted':>8}")
    print(f"{'failed trajectories with a flag':<44} {len(flagged_failed):>8} {0:>9} {'counted':>8}")
    cancels = [(t, v) for t, v in groups["failed"] if v.rule == "cancel_allowed"]
    print(f"{'forbidden cancellations in failed ones':<44} {len(cancels):>8} {0:>9} {'counted':>8}")
    print("\nflags in failed trajectories by rule:")
    for rule, count in Counter(v.rule for _, v in groups["failed"]).most_common():
        print(f"  {rule:<24} {count}")
    for name in ("success", "gold"):
        for trace_id, v in groups[name][: args.show]:
            print(f"  [{name}] {trace_id}: {v.text()}")
    print("\nforbidden cancellations:")
    for trace_id, v in cancels[: args.show * 3]:
        print(f"  {trace_id}: {v.message}")
    others = [(t, v) for t, v in groups["failed"] if v.rule != "cancel_allowed"]
    if others:
        print("\nother flags in failed trajectories:")
        for trace_id, v in others[: args.show]:
            print(f"  {trace_id}: {v.text()}")


if __name__ == "__main__":
    main()
