"""`clawloop-synth pack check PATH`: validate a pack folder, one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app

__all__ = ["pack_app"]

pack_app = typer.Typer(help="Domain packs: folders of tools, handlers, policy and state.", no_args_is_help=True)
app.add_typer(pack_app, name="pack")


@pack_app.command("check")
def check_command(
    path: Annotated[str, typer.Argument(help="A pack folder, or a built-in pack name (demo, airline).")],
    db: Annotated[Path | None, typer.Option(help="A database folder in the pack's state/ layout, checked "
                                            "instead of the pack's own state.")] = None,
) -> None:
    """Check schemas, handlers (compile, and survive schema-valid calls in the sandbox), state and rules."""
    from clawloop_synth.sim.pack_check import check_pack

    report = check_pack(path, db)
    for problem in report.problems:
        typer.secho(problem, fg=typer.colors.RED, err=True)
    if not report.ok:
        typer.secho(f"{len(report.problems)} problem(s) in {report.folder}", err=True)
        raise typer.Exit(1)
    typer.echo(report.summary())
