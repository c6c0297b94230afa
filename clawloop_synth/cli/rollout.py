"""`clawloop-synth rollout`, `clawloop-synth difficulty` and `clawloop-synth curriculum`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption, engine_for
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["curriculum", "difficulty", "rollout"]

# Kept in step with clawloop_synth.rollout.spec.SPEC_HELP (not imported: --help must stay fast).
_AGENTS_HELP = (
    "Agents, ';'-separated or repeated. 'scripted': the offline population (reference + 7 flawed agents "
    "of graded skill, flaw rates per opportunity: longer, busier tasks are harder); 'scripted:per_run': "
    "the same with per-run rates (every task about as hard); 'reference': replays the reference solution; "
    "'flawed:MODE=RATE,...[,seed=N][,name=NAME][,per=run|opportunity][,distractor_load=X]', e.g. "
    "'flawed:premature_finish=0.5,repeated_call=0.2' "
    "(modes: wrong_argument_format, skipped_lookup, ignored_tool_error, no_retry_after_transient, "
    "hallucinated_tool, premature_finish, repeated_call); 'llm:MODEL[,max_turns=N]', e.g. "
    "'llm:openai/gpt-4o-mini', or 'llm' with --model."
)


def _echo_json(summary: dict[str, Any]) -> None:
    typer.echo(json.dumps(summary, indent=2, default=str))


@app.command()
def rollout(
    agents: Annotated[list[str], typer.Option("--agents", "-a", help=_AGENTS_HELP)],
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Attempts per task per agent.")] = 1,
    concurrency: Annotated[int, typer.Option(
        min=1, help="LLM agents: episodes run at the same time (in-process agents run one after another).")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the scripted and flawed agents.")] = 0,
    model: Annotated[str | None, typer.Option(help="litellm model for a bare 'llm' agent.")] = None,
    api_base: Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible server.")] = None,
    max_tasks: Annotated[int | None, typer.Option(min=1, help="Only the first N tasks.")] = None,
    max_requests: Annotated[int | None, typer.Option(help="Hard budget of each LLM agent in HTTP requests "
                                                     "(across every worker with --engine ray).")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Hard budget of each LLM agent in USD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    """Run agents on every task in SimEnv: WORKDIR/rollouts (Rollouts: Traces for the miner) and rollout.json."""
    workdir = given(workdir)
    from clawloop_synth.cli.progress import counter
    from clawloop_synth.rollout.stage import run_rollouts

    with engine_for(engine, address, workers) as chosen, counter("rollout", "episodes", quiet=as_json) as tick:
        summary = run_rollouts(workdir, agents, k=k, concurrency=concurrency, seed=seed, model=model,
                               api_base=api_base, max_tasks=max_tasks, tick=tick, max_requests=max_requests,
                               max_cost=max_cost, engine=chosen)
    if as_json:
        _echo_json(summary)
        return
    typer.echo(f"{summary['rollouts']} rollouts ({summary['tasks']} tasks x {len(summary['agents'])} agents "
               f"x k={summary['k']}) in {summary['seconds']} s ({summary['rollouts_per_second']}/s)")
    for name, row in summary["agents"].items():
        errors = f", {row['errors']} errors" if row["errors"] else ""
        typer.echo(f"  {name:<24} pass rate {row['pass_rate']}  mean reward {row['mean_reward']}{errors}")


@app.command()
def difficulty(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    seed: Annotated[int, typer.Option(help="Seed of the held-out split.")] = 0,
    holdout: Annotated[float, typer.Option(help="Share of rated tasks held out for calibration.")] = 0.2,
    neighbours: Annotated[int, typer.Option("--k", min=1, help="Neighbours for unseen-task prediction.")] = 10,
    agent: Annotated[str | None, typer.Option(help="The agent being trained, whose pass rates (and learnability) "
                                                    "are estimated, with IRT-centred priors. Default: the agent "
                                                    "of median IRT ability; '*': all agents pooled (old).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Pass rates (beta-binomial), 1PL IRT and predictions for unrated tasks: WORKDIR/difficulty, difficulty.json."""
    workdir = given(workdir)
    from clawloop_synth.difficulty.stage import run_difficulty

    summary = run_difficulty(workdir, seed=seed, holdout=holdout, k=neighbours, agent=agent)
    if as_json:
        _echo_json(summary)
        return
    prior = summary["beta_prior"]
    typer.echo(f"{summary['tasks']} tasks: {summary['rated']} rated from {summary['attempts']} attempts by "
               f"{summary['agents']} agents, {summary['predicted']} predicted; "
               f"pass rates of {summary['pass_rates_of']}, prior {prior['method']} "
               f"(summary Beta({prior['alpha']:.3g}, {prior['beta']:.3g}))")
    calibration = summary["calibration"]
    typer.echo(calibration.get("table") or f"calibration skipped: {calibration.get('skipped')}")


@app.command()
def curriculum(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    strategy: Annotated[str, typer.Option(help="random, fixed, difficulty, learnability or plr.")] = "learnability",
    seed: Annotated[int, typer.Option(help="Seed of the random and plr orders.")] = 0,
    param: Annotated[list[str] | None, typer.Option(help="Strategy parameter KEY=VALUE (JSON value), "
                                                       "e.g. temperature=0.3 or hardest_first=true.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary (with the comparison) as JSON.")] = False,
) -> None:
    """Order the tasks with a strategy: WORKDIR/curriculum/<strategy> and curriculum.json, compared with the others."""
    workdir = given(workdir)
    from clawloop_synth.curriculum.stage import parse_params, run_curriculum

    summary = run_curriculum(workdir, strategy, seed=seed, params=parse_params(param or []))
    if as_json:
        _echo_json(summary)
        return
    typer.echo(f"{summary['tasks']} tasks ordered by {summary['strategy']} -> {summary['path']}")
    comparison = summary["comparison"]
    typer.echo(f"{'order':<20} {'spearman':>9} {'kendall':>8} {'head learn':>11} {'head pass':>10}")
    for name, m in comparison["strategies"].items():
        cells = [m["spearman_difficulty"], m["kendall_difficulty"], m["head_learnability"], m["head_pass_mean"]]
        text = [f"{c:.3f}" if c is not None else "n/a" for c in cells]
        typer.echo(f"{name:<20} {text[0]:>9} {text[1]:>8} {text[2]:>11} {text[3]:>10}")
    typer.echo(f"(head = first {comparison['head']:.0%}; best head learnability {comparison['head_learnability_max']}, "
               f"all-task mean {comparison['learnability_mean']})")
