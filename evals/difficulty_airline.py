"""Rollouts of the scripted population on airline tasks, read back by the miner, and difficulty prediction.

    python evals/difficulty_airline.py [--tasks 300] [--k 4] [--concurrency 8] [--workdir DIR] [--splits 10]

Tasks: the airline tasks the generate stage writes (procedural generator, offline: ingest, mine,
cluster and ``generate --per-cluster 40`` on the tau-bench airline traces, unless ``--source DIR``
names a work directory that has them), a seeded sample of ``--tasks`` of them. Without the
procedural generator (or with ``--gold``) it falls back to the 31 verified airline gold tasks plus
40 demo tasks, and says so.

Prints:
1. the rollout run: episodes, wall time and episodes/s at ``--concurrency`` (shared CPUs: noisy);
2. the miner on the saved Rollouts (``build_context`` + ``mine_traces``, as ``mine`` does): failed
   rollouts, how many got a located failure, codes found against the planted flaw modes;
3. the difficulty stage: IRT fit, then the calibration (Spearman between predicted and fitted
   difficulty on 20% held-out tasks) of the combined, features-only and neighbours-only predictors,
   for the stage's split and as mean +- sd over ``--splits`` seeded splits.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "datasets" / "tau-bench"
TRACES, DB = SHARED / "gpt-4o-airline.json", SHARED / "airline-db"


def generated_tasks(source: Path) -> list:
    """Accepted airline tasks from the generate stage (run offline into ``source`` if needed)."""
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster, run_mine
    from clawloop_synth.rollout import load_tasks
    from clawloop_synth.sim.pack import load_pack

    if not (source / "tasks" / "data").is_dir():
        print(f"generating airline tasks into {source} (ingest, mine, cluster, generate --per-cluster 40)")
        run_ingest([TRACES], source)
        run_mine(source, pack_tools=list(load_pack("airline", DB).tools))
        run_cluster(source)
        run_generate(source, GenerateConfig(domain="airline", db=DB, per_cluster=40))
    return load_tasks(source)


def gold_and_demo_tasks() -> list:
    from clawloop_synth.demo import build_demo_tasks
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim import verify
    from clawloop_synth.sim.gold import airline_gold_tasks

    gold = [t for t in airline_gold_tasks(iter_traces([TRACES]), DB) if verify(t).ok]
    return gold + build_demo_tasks(40, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/eval-difficulty-airline"))
    parser.add_argument("--source", type=Path, default=None, help="work directory with generated airline tasks")
    parser.add_argument("--gold", action="store_true", help="use the gold airline + demo tasks")
    args = parser.parse_args()

    import shutil

    from clawloop_synth.difficulty import calibration_report
    from clawloop_synth.difficulty.stage import load_rows, run_difficulty, task_text
    from clawloop_synth.embed import make_embedder
    from clawloop_synth.mine import MineStats, build_context, mine_traces
    from clawloop_synth.rollout import load_rollouts, run_rollouts
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.store import save_records

    try:
        import clawloop_synth.generate.procedural  # noqa: F401
        have_procedural = True
    except ImportError:
        have_procedural = False
    if have_procedural and not args.gold:
        pool = generated_tasks(args.source or args.workdir.with_name(args.workdir.name + "-source"))
        label = f"generated airline tasks (procedural generator): {args.tasks} sampled of {len(pool)}"
        tasks = random.Random(args.seed).sample(pool, min(args.tasks, len(pool)))
    else:
        tasks = gold_and_demo_tasks()
        label = f"{len(tasks)} tasks: the verified airline gold tasks plus 40 demo tasks"
    print(f"tasks: {label}")

    wd = args.workdir
    shutil.rmtree(wd, ignore_errors=True)
    save_records(wd / "tasks", tasks, columns=lambda t: {"domain": t.domain})

    # 1. rollouts
    summary = run_rollouts(wd, "scripted", k=args.k, concurrency=args.concurrency, seed=args.seed)
    print(f"\n1. rollouts: {summary['rollouts']} episodes ({summary['tasks']} tasks x {len(summary['agents'])} "
          f"agents x k={args.k}) at concurrency {args.concurrency}: {summary['seconds']} s, "
          f"{summary['rollouts_per_second']} episodes/s")
    for name, row in summary["agents"].items():
        print(f"   {name:<10} pass rate {row['pass_rate']:.3f}")

    # 2. the miner reads them back
    started = time.perf_counter()
    rollouts = list(load_rollouts(wd))
    read_seconds = time.perf_counter() - started
    tools = list(load_pack("airline", DB).tools) if all(t.domain == "airline" for t in tasks) else None
    ctx = build_context(rollouts, tools)
    stats = MineStats()
    failures = list(mine_traces(rollouts, ctx, stats))
    failed = [r for r in rollouts if r.reward is not None and r.reward < 0.5]
    located = {f.trace_id for f in failures}
    by_mode = Counter(str(r.metadata.get("planted_mode")) for r in failed)
    located_by_mode = Counter(str(r.metadata.get("planted_mode")) for r in failed if r.id in located)
    print(f"\n2. miner: read {len(rollouts)} Rollouts back in {read_seconds:.1f} s; {len(failed)} failed, "
          f"{sum(1 for r in failed if r.id in located)} with a located failure; {len(failures)} failures in "
          f"{time.perf_counter() - started:.1f} s")
    for mode, n in by_mode.most_common():
        print(f"   planted {mode:<26} failed {n:5d}  located {located_by_mode[mode]:5d}")
    print("   codes:", dict(Counter(f.code for f in failures).most_common(8)))

    # 3. difficulty and calibration
    diff = run_difficulty(wd, seed=args.seed)
    irt = diff["irt"]
    print(f"\n3. difficulty: {diff['rated']} rated tasks, {diff['attempts']} attempts, IRT converged "
          f"{irt['converged']} in {irt['n_iter']} iterations; difficulty range {irt['difficulty_range']}; "
          f"pass-rate prior Beta({diff['beta_prior']['alpha']:.3g}, {diff['beta_prior']['beta']:.3g})")
    print(diff["calibration"]["table"])
    rows = {r["task_id"]: r for r in load_rows(wd / "difficulty")}
    y = np.array([rows[t.id]["difficulty"] for t in tasks])
    se = np.array([rows[t.id]["difficulty_sd"] for t in tasks])
    emb = make_embedder("hashing").embed([task_text(t) for t in tasks])
    feats = [t.features for t in tasks]
    per: dict[str, list[float]] = {}
    for split in range(args.splits):
        report = calibration_report(y, difficulty_se=se, embeddings=emb, features=feats, holdout=0.2, seed=split)
        for name, rho in report.spearman.items():
            per.setdefault(name, []).append(rho)
    print(f"\nSpearman(predicted, fitted) on 20% held-out tasks over {args.splits} seeded splits:")
    for name in ("combined", "features", "neighbours"):
        values = np.array(per[name])
        print(f"   {name:<11} {np.nanmean(values):.3f} +- {np.nanstd(values):.3f}  "
              f"(min {np.nanmin(values):.3f}, max {np.nanmax(values):.3f})")


if __name__ == "__main__":
    main()
