"""`clawloop-synth run`: every stage built so far, on the embedded default, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app


def _line(stage: str, summary: dict[str, Any]) -> str:
    if stage == "ingest":
        return (f"{summary['traces']} traces, {summary['reward']['zero']} with reward 0, "
                f"{summary['tool_results']} tool results ({summary['tool_result_errors']} errors)")
    if stage == "mine":
        return f"{summary['failures']} failures located in {summary.get('failed_traces', '?')} failed traces"
    if stage == "cluster":
        return (f"{len(summary['clusters'])} clusters (k={summary['k']} by {summary['k_chosen_by']}, "
                f"silhouette {summary['silhouette']})")
    return ", ".join(f"{k}={v}" for k, v in summary.items() if isinstance(v, int | float | str))[:200]


@app.command(help="Run every stage on the embedded demo traces (or --input), offline by default. "
                  "Finished stages are skipped on a re-run unless --force.")
def run(
    workdir: Annotated[Path, typer.Option("--workdir", "-w", help="Work directory.")] = Path("runs/default"),
    inputs: Annotated[list[Path] | None, typer.Option("--input", "-i", help="Trace files or folders "
                                                      "(default: the embedded demo traces).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for every random choice.")] = 0,
    force: Annotated[bool, typer.Option(help="Re-run finished stages.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stage summaries as JSON.")] = False,
) -> None:
    from clawloop_synth.cli.progress import counter
    from clawloop_synth.pipeline import RunConfig, run_pipeline

    config = RunConfig(seed=seed, force=force)
    if inputs:
        config.inputs = list(inputs)

    def report(stage: str, summary: dict[str, Any], skipped: bool) -> None:
        if not as_json:
            typer.echo(f"{stage:>10}: {'(done before) ' if skipped else ''}{_line(stage, summary)}")

    with counter("run", "items", quiet=as_json) as tick:
        results = run_pipeline(workdir, config, tick=lambda _stage: tick(), report=report)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        typer.echo(f"work directory: {workdir}")
