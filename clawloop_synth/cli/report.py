"""`clawloop-synth report -w WORKDIR`: one self-contained HTML page about a work directory."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["report"]


@app.command(help="Write WORKDIR/report/index.html: the input, failures, clusters, tasks, coverage, difficulty and "
                  "curriculum of a work directory on one page (plots embedded; opens from disk, no network).")
def report(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    workdir = given(workdir)
    from clawloop_synth.report import run_report

    summary = run_report(workdir)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    if summary["empty_sections"]:
        typer.echo(f"not run yet: {', '.join(summary['empty_sections'])} (their sections say so)")
    typer.echo(f"report: {summary['path']}")
