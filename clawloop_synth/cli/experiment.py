"""`clawloop-synth experiment targeting|curriculum -w WORKDIR`: a learner trained on the tasks, answers with CIs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["experiment"]


def _ci(s: dict[str, Any]) -> str:
    ci = s.get("ci95")
    mean = s.get("mean")
    if mean is None:
        return "n/a"
    return f"{mean:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else f"{mean:+.3f}"


def _lines(result: dict[str, Any]) -> list[str]:
    lines = [f"experiment {result['question']} ({result['pack']}, {len(result['seeds'])} seeds, "
             f"budget {result['config']['budget']}, {result['seconds']:.0f} s)"]
    for arm, s in result["final_success"].items():
        lines.append(f"  final success {arm:>13}: {s['mean']:.3f}  95% CI [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"
                     if s["ci95"] else f"  final success {arm:>13}: n/a")
    for arm, s in result["vs_random_final"].items():
        lines.append(f"  {arm} - random (final success): {_ci(s)}   AUC: {_ci(result['vs_random_auc'][arm])}")
    lines.append(f"  A/A random_aa - random (final success): {_ci(result['aa_final'])}   "
                 f"AUC: {_ci(result['aa_auc'])}")
    if "tasks_to_threshold" in result:
        for arm, s in result["tasks_to_threshold"].items():
            lines.append(f"  tasks to threshold {arm:>13}: {s['mean']} (reached in "
                         f"{result['tasks_to_threshold_reached'][arm]} seeds)")
    if "gap_vs_random" in result:
        for mode, arms in result["gap_vs_random"].items():
            cells = "  ".join(f"{a} {_ci(s)}" for a, s in arms.items())
            lines.append(f"  gap {mode} vs random: {cells}")
    lines.append(f"  plot: {result['plot']}; every number in experiment.json")
    return lines


@app.command(help="Train a learner on the tasks and answer one question with paired 95% bootstrap CIs over "
                  "seeds and an A/A check: 'targeting' (targeted vs random vs real-only tasks, same budget) or "
                  "'curriculum' (orders random, fixed, difficulty, learnability, PLR). Folds by task: training "
                  "tasks come from the training folds' traces only. Writes WORKDIR/experiment.json and "
                  "WORKDIR/experiment_QUESTION.png.")
def experiment(
    question: Annotated[str, typer.Argument(help="targeting or curriculum.")],
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    learner: Annotated[str, typer.Option(help="Learner: policy (offline, CPU).")] = "policy",
    seeds: Annotated[int, typer.Option(min=2, help="Seeds (fold splits); every comparison is paired by seed.")
                     ] = 5,
    budget: Annotated[int, typer.Option(min=1, help="Training tasks per arm.")] = 30,
    points: Annotated[int, typer.Option(min=1, help="Learning-curve points after the untrained one.")] = 2,
    eval_size: Annotated[int, typer.Option(min=1, help="Generated held-out evaluation tasks per seed (plus every "
                                           "held-out real task that verifies).")] = 24,
    folds: Annotated[int, typer.Option(min=2, help="Folds by task.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    where = given(workdir)
    from clawloop_synth.experiment.stage import ExperimentConfig, run_experiment

    config = ExperimentConfig(question=question, learner=learner, seeds=seeds, budget=budget, points=points,
                              eval_size=eval_size, folds=folds)
    result = run_experiment(where, config, say=lambda line: None if as_json else typer.echo(line))
    if as_json:
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "seeds"}, indent=2))
        return
    for line in _lines(result):
        typer.echo(line)
