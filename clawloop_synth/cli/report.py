"""`clawloop-synth report WORKDIR`: one self-contained HTML page about a work directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app

__all__ = ["report"]


@app.command(help="Write WORKDIR/report/index.html: the input, failures, clusters, tasks, coverage, difficulty and "
                  "curriculum of a work directory on one page (plots embedded; opens from disk, no network).")
def report(
    workdir: Annotated[Path, typer.Argument(help="Work directory (any stages run so far).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    from clawloop_synth.report import run_report

    summary = run_report(workdir)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    if summary["empty_sections"]:
        typer.echo(f"not run yet: {', '.join(summary['empty_sections'])} (their sections say so)")
    typer.echo(f"report: {summary['path']}")
