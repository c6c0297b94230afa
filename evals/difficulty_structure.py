"""How much task-dependent structure the difficulty stage found in a work directory's rollouts.

    python evals/difficulty_structure.py WORKDIR [WORKDIR ...]

Reads WORKDIR/difficulty (run ``clawloop-synth difficulty -w WORKDIR`` first) and WORKDIR/tasks, and
prints per work directory:

1. the fitted beta-binomial prior (alpha, beta; a huge alpha + beta means the tasks' pass rates look
   alike: every task is shrunk to the same mean);
2. the spread across rated tasks of the raw pass rate, the posterior mean pass rate and the
   learnability E[p (1 - p)]: sd, 10th / 50th / 90th percentiles, range;
3. Spearman between the fitted IRT difficulty and each task feature (steps, tools, writes,
   distractors) and each flaw mode's opportunity count (``agents.opportunities``) and their total.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _spread(name: str, values: np.ndarray) -> str:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return (f"   {name:<14} sd {values.std():.4f}  p10 {p10:.4f}  median {p50:.4f}  p90 {p90:.4f}  "
            f"range [{values.min():.4f}, {values.max():.4f}]")


def report(workdir: Path) -> None:
    from scipy.stats import spearmanr

    from clawloop_synth.agents import FLAW_MODES, opportunities, plan_for
    from clawloop_synth.difficulty.stage import load_rows
    from clawloop_synth.rollout import load_tasks

    summary = json.loads((workdir / "difficulty.json").read_text())
    prior = summary["beta_prior"]
    rows = {r["task_id"]: r for r in load_rows(workdir / "difficulty") if r["difficulty_source"] == "irt"}
    tasks = [t for t in load_tasks(workdir) if t.id in rows]
    print(f"\n== {workdir}: {len(tasks)} rated tasks, {summary['attempts']} attempts, {summary['agents']} agents")
    print(f"1. prior Beta({prior['alpha']:.4g}, {prior['beta']:.4g}), mean {prior['mean']:.3f}, "
          f"concentration alpha+beta {prior['alpha'] + prior['beta']:.4g}")
    raw = np.array([rows[t.id]["successes"] / rows[t.id]["trials"] for t in tasks])
    post = np.array([rows[t.id]["pass_mean"] for t in tasks])
    learn = np.array([rows[t.id]["learnability"] for t in tasks])
    print("2. spread across tasks")
    print(_spread("raw pass rate", raw))
    print(_spread("posterior mean", post))
    print(_spread("learnability", learn))
    diff = np.array([rows[t.id]["difficulty"] for t in tasks])
    columns: dict[str, list[float]] = {name: [] for name in ("steps", "tools", "writes", "distractors")}
    for mode in FLAW_MODES:
        columns[f"opp:{mode}"] = []
    columns["opp:total"] = []
    for task in tasks:
        for name in ("steps", "tools", "writes", "distractors"):
            columns[name].append(getattr(task.features, name))
        counts = opportunities(plan_for(task))
        for mode in FLAW_MODES:
            columns[f"opp:{mode}"].append(counts[mode])
        columns["opp:total"].append(sum(counts.values()))
    print(f"3. Spearman(IRT difficulty, x) over {len(tasks)} tasks (IRT difficulty sd {diff.std():.3f})")
    for name, values in columns.items():
        x = np.array(values, dtype=float)
        rho = float(spearmanr(x, diff)[0]) if np.ptp(x) > 0 else float("nan")
        print(f"   {name:<34} {rho:+.3f}   (x from {x.min():g} to {x.max():g})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdirs", type=Path, nargs="+")
    for workdir in parser.parse_args().workdirs:
        report(workdir)


if __name__ == "__main__":
    main()
