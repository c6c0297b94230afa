"""Does the policy learner learn? Held-out success untrained vs trained on N tasks, over seeds, with 95% CIs.

    python evals/learner.py runs/airline --train 300 --seeds 5

WORKDIR is a work directory with accepted tasks (e.g. from ``clawloop-synth run ... --pack airline --db
../shared/datasets/tau-bench/airline-db --per-cluster 25``). Each seed shuffles the tasks, holds out the tasks
after the first N (held-out tasks of the training distribution, split by task), trains a fresh learner on the
first N and prints untrained and trained success on the held-out tasks, the paired difference, and a 95%
bootstrap CI over seeds (and over tasks within a seed).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawloop_synth.learn import PolicyConfig, PolicyLearner, play, task_views, train_runner  # noqa: E402
from clawloop_synth.rollout import load_tasks  # noqa: E402
from evals.learner_breakdown import print_breakdown  # noqa: E402


def boot_ci(values: list[float], seed: int = 0, n: int = 2000) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    if len(arr) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(n, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--held-out", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed+seeds-1 (to split "
                    "a run over processes; the summary lines then cover these seeds only)")
    ap.add_argument("--rl-epochs", type=int, default=1)
    ap.add_argument("--breakdown", action="store_true", help="print success per task kind and the first wrong "
                    "decision of each failed held-out task")
    args = ap.parse_args()
    tasks = load_tasks(args.workdir)
    if len(tasks) <= args.train:
        sys.exit(f"{args.workdir}: {len(tasks)} tasks, need more than --train {args.train}")
    before_all, after_all, diffs = [], [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        shuffled = list(tasks)
        random.Random(seed).shuffle(shuffled)
        train, held = shuffled[: args.train], shuffled[args.train: args.train + args.held_out]
        start, cpu0 = time.perf_counter(), time.process_time()
        learner = PolicyLearner(PolicyConfig(seed=seed, rl_epochs=args.rl_epochs))
        before = [float(play(learner, t).reward or 0.0) for t in held]
        learner.train(task_views(train, "train"), train_runner(train))
        played = [(t, play(learner, t)) for t in held]
        after = [float(r.reward or 0.0) for _, r in played]
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        lo, hi = boot_ci(after, seed)
        print(f"seed {seed}: held-out {len(held)} tasks  untrained {np.mean(before):.3f}  trained {np.mean(after):.3f} "
              f"[{lo:.3f}, {hi:.3f}]  (imitation decisions {learner.stats['imitation_decisions']}, "
              f"RL mean reward {learner.stats['rl_mean_reward']}, {seconds:.0f} s wall, "
              f"{cpu:.0f} s CPU, load {os.getloadavg()[0]:.1f})", flush=True)
        if args.breakdown:
            print_breakdown(played)
        before_all.append(float(np.mean(before)))
        after_all.append(float(np.mean(after)))
        diffs.append(after_all[-1] - before_all[-1])
    for label, vals in (("untrained", before_all), ("trained", after_all), ("trained - untrained", diffs)):
        lo, hi = boot_ci(vals)
        print(f"{label:>20}: mean over {args.seeds} seeds {np.mean(vals):.3f}  95% CI [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
