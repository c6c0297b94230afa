"""`clawloop-synth generate -w WORKDIR` and `clawloop-synth optimize -w WORKDIR`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption, engine_for
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["generate", "optimize"]

Domain = Annotated[str, typer.Option("--pack", "--domain", help="Domain pack: a built-in name (airline needs "
                                     "--db; demo) or a pack folder path; --domain is an alias.")]
Db = Annotated[Path | None, typer.Option(help="Database folder of the domain pack.")]
Model = Annotated[str | None, typer.Option(help="litellm model string (llm and dspy generators).")]
ApiBase = Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible server (vLLM, Ollama).")]
Seed = Annotated[int, typer.Option(help="Seed for every random choice.")]


@contextmanager
def _bar(quiet: bool) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A rich progress bar over accepted tasks, with the rejected count and the cost beside it."""
    if quiet:
        yield lambda _event: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(), TextColumn("accepted"),
               TextColumn("{task.fields[rejected]} rejected  ${task.fields[cost]:.4f}"), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("generate", total=None, rejected=0, cost=0.0)

        def update(event: dict[str, Any]) -> None:
            progress.update(task, completed=event["accepted"], total=event["wanted"], rejected=event["rejected"],
                            cost=event["cost"])

        yield update


def _print_estimate(estimate: dict[str, Any]) -> None:
    """The dry run's few lines: what would be sent and what it would cost."""
    typer.echo(f"dry run ({estimate['generator']} generator): nothing was sent")
    if not estimate.get("requests") and estimate.get("note"):
        typer.echo(f"  {estimate['note']}")
        return
    typer.echo(f"  {estimate['requests']} requests to {estimate['model']} "
               f"({estimate['cached']} more answered from the cache, free)")
    typer.echo(f"  {estimate['prompt_tokens']:,} prompt tokens + {estimate['completion_tokens']:,} completion tokens "
               f"({estimate['completion_tokens_per_request']} assumed per answer)")
    if estimate.get("cost_known"):
        typer.echo(f"  estimated cost ${estimate['cost']:.4f} "
                   f"(at most ${estimate['cost_with_reasks']:.4f} if every call used all its re-asks)")
    else:
        typer.echo("  cost unknown: litellm has no price for this model (a local server costs nothing)")


def _print_summary(summary: dict[str, Any]) -> None:
    typer.echo(f"{summary['accepted']} accepted, {summary['rejected']} rejected "
               f"({summary['resumed_candidates']} candidates resumed from the journal) in {summary['seconds']} s")
    for reason, n in summary["rejected_by_reason"].items():
        typer.echo(f"  rejected {n:5d}  {reason}")
    for c in summary["clusters"]:
        line = f"  {c['id']:>6}  {c['accepted']:4d}/{c['candidates']:<4d} {c['target_code']}"
        typer.echo(line + (f"  -- {c['reason']}" if "reason" in c else ""))
    if summary.get("stopped"):
        typer.secho(f"stopped early: {summary['stopped']} (what was accepted is saved)", fg=typer.colors.YELLOW)
    if summary.get("pending_clusters"):
        typer.secho(f"{len(summary['pending_clusters'])} cluster(s) left pending after LLM request failures "
                    f"({', '.join(summary['pending_clusters'][:5])}); re-run to retry them", fg=typer.colors.YELLOW)
    usage = summary.get("usage")
    if usage:
        total = usage["total"]
        typer.echo(f"LLM: {total['requests']} requests, {total['cache_hits']} cache hits, "
                   f"{total['prompt_tokens']}+{total['completion_tokens']} tokens, ${total['cost']:.4f}")


@app.command()
def generate(
    domain: Domain,
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    db: Db = None,
    per_cluster: Annotated[int, typer.Option("--per-cluster", min=1, help=(
        "Accepted tasks wanted per cluster, on average: the run wants per-cluster x clusters tasks, split by "
        "each cluster's real failure mass (failed traces), each cluster getting at least --floor "
        "(--allocation even: exactly per-cluster each)."))] = 5,
    allocation: Annotated[str, typer.Option(help="mass (by real failure mass, with a floor) or even.")] = "mass",
    floor: Annotated[int | None, typer.Option(min=0, help="Fewest tasks per cluster under mass allocation "
                                              "(default: 2 x per-cluster // 5, at least 1).")] = None,
    generator: Annotated[str, typer.Option(help="procedural (offline), llm or dspy.")] = "procedural",
    program: Annotated[Path | None, typer.Option(help="A compiled DSPy program (from `optimize`).")] = None,
    model: Model = None,
    api_base: ApiBase = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Concurrent model calls.")] = 8,
    max_cost: Annotated[float | None, typer.Option(help="Hard budget in USD; stops cleanly.")] = None,
    max_requests: Annotated[int | None, typer.Option(help="Hard budget in HTTP requests.")] = None,
    max_repairs: Annotated[int, typer.Option(min=0, help="Repairs per rejected LLM candidate.")] = 2,
    attempts: Annotated[int, typer.Option(min=1, help="Candidates per wanted task, at most.")] = 4,
    cluster: Annotated[list[str] | None, typer.Option(help="Only this cluster id (repeatable).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the estimated tokens and cost; generate nothing.")] = False,
    policy_from_traces: Annotated[bool, typer.Option(help="Use the system prompt the traces share as the policy "
                                                     "(instead of the pack's policy.md).")] = False,
    seed: Seed = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    """Generate tasks aimed at every failure cluster; keep those the simulator verifies (tasks, rejects)."""
    workdir = given(workdir)
    from clawloop_synth.generate.stage import GenerateConfig, run_generate

    if generator == "dspy" and program is None and not dry_run:
        typer.echo("note: no --program given: the DSPy program runs uncompiled", err=True)
    config = GenerateConfig(domain=domain, db=db, per_cluster=per_cluster, allocation=allocation, floor=floor,
                            generator=generator, program=program,
                            model=model, api_base=api_base, concurrency=concurrency, max_cost=max_cost,
                            max_requests=max_requests, max_repairs=max_repairs, attempts=attempts,
                            clusters=cluster, dry_run=dry_run, seed=seed, policy_from_traces=policy_from_traces)
    if dry_run:
        summary = run_generate(workdir, config)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_estimate(summary)
        return
    with engine_for(engine, address, workers) as chosen, _bar(quiet=as_json) as update:
        summary = run_generate(workdir, config, progress=update, engine=chosen)
    if as_json:
        out = {k: summary[k] for k in ("domain", "pack", "accepted", "rejected", "rejected_by_reason", "stopped",
                                       "usage")}
        typer.echo(json.dumps({**out, "clusters": summary["clusters"]}, indent=2))
        return
    _print_summary(summary)


@app.command()
def optimize(
    domain: Domain,
    out: Annotated[Path, typer.Option(help="Where to save the compiled program (JSON).")],
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    db: Db = None,
    model: Model = None,
    api_base: ApiBase = None,
    optimizer: Annotated[str, typer.Option(help="bootstrap (BootstrapFewShot) or mipro (MIPROv2 light).")]
    = "bootstrap",
    train: Annotated[int, typer.Option(min=1, help="Training examples (clusters x variants).")] = 8,
    max_demos: Annotated[int, typer.Option(min=0, help="Few-shot demos to bootstrap.")] = 2,
    max_requests: Annotated[int | None, typer.Option(help="Hard budget in HTTP requests.")] = None,
    seed: Seed = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Compile the DSPy generation program against verification, novelty and targeting; save it."""
    workdir = given(workdir)
    from clawloop_synth.generate.dspy_opt import OptimizeConfig, run_optimize

    summary = run_optimize(workdir, OptimizeConfig(domain=domain, db=db, model=model, api_base=api_base,
                                                   optimizer=optimizer, train=train, max_demos=max_demos,
                                                   max_requests=max_requests, seed=seed, out=out))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    before, after = (f"{s:.3f}" if s is not None else "n/a" for s in (summary["score_before"], summary["score_after"]))
    stopped = f" (stopped early, {summary['stopped']})" if summary.get("stopped") else ""
    typer.echo(f"compiled with {summary['optimizer']} on {summary['train']} examples: "
               f"metric {before} -> {after}; saved {summary['out']}{stopped}")
