"""`clawloop-synth experiment targeting|curriculum|fidelity|rounds -w WORKDIR`: a learner trained on the tasks,
answers with CIs."""

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


def _fidelity_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"  untrained: {_ci(result['untrained'])}"]
    for arm, level in sorted(result["levels"].items(), key=lambda kv: -(kv[1]["fidelity"]["mean"] or 0.0)):
        lines.append(f"  {arm:>12}: fidelity {level['fidelity']['mean']:.3f}  held-out success in the true pack "
                     f"{_ci(level['final_success'])}  vs untrained {_ci(level['vs_untrained'])}")
    lines.append(f"  A/A true_aa - true (final success): {_ci(result['aa_final'] or {})}")
    lines.append(f"  floor: {result['floor']['note']}")
    return lines


def _rounds_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"  untrained: {_ci(result['untrained'])}"]
    for row in result["per_round"]:
        lines.append(f"  round {row['round']}: held-out success {_ci(row['success'])} (vs round 0 "
                     f"{_ci(row['vs_round0'])}); closed {row['closed'] or '{}'}; opened {row['opened'] or '{}'}")
    return lines


def _lines(result: dict[str, Any]) -> list[str]:
    lines = [f"experiment {result['question']} ({result['pack']}, {len(result['seeds'])} seeds, "
             f"budget {result['config']['budget']}, {result['seconds']:.0f} s)"]
    if result["question"] in ("fidelity", "rounds"):
        more = _fidelity_lines(result) if result["question"] == "fidelity" else _rounds_lines(result)
        return lines + more + [f"  plot: {result['plot']}; every number in experiment.json"]
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
                  "seeds and an A/A check: 'targeting' (targeted vs random vs real-only tasks, same budget), "
                  "'curriculum' (orders random, fixed, difficulty, learnability, PLR), 'fidelity' (trained in "
                  "packs induced from 5-100% of the traces and in the true pack with result noise, evaluated in "
                  "the true pack; the fidelity floor) or 'rounds' (rollout, mine, cluster, generate, train on the "
                  "learner's own failures; modes closed and opened per round). Folds by task: training tasks come "
                  "from the training folds' traces only. Writes WORKDIR/experiment.json and "
                  "WORKDIR/experiment_QUESTION.png.")
def experiment(
    question: Annotated[str, typer.Argument(help="targeting, curriculum, fidelity or rounds.")],
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    learner: Annotated[str, typer.Option(help="Learner: policy (offline, CPU), llm (in context; needs --model) or "
                                         "'cmd:python train.py {train_dir} {out_dir}' (your trainer: gets the "
                                         "exported training tasks, writes {out_dir}/endpoint.json).")] = "policy",
    model: Annotated[str | None, typer.Option(help="llm learner: any litellm model string.")] = None,
    api_base: Annotated[str | None, typer.Option(help="llm learner: the model server's base URL.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="llm learner: hard budget in USD.")] = None,
    rounds: Annotated[int, typer.Option(min=1, help="rounds: rounds after round 0.")] = 3,
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
                              eval_size=eval_size, folds=folds, model=model, api_base=api_base, max_cost=max_cost,
                              rounds=rounds)
    result = run_experiment(where, config, say=lambda line: None if as_json else typer.echo(line))
    if as_json:
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "seeds"}, indent=2))
        return
    for line in _lines(result):
        typer.echo(line)
