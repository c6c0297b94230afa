"""`clawloop-synth pack check PATH`: validate a pack folder, one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app

__all__ = ["pack_app"]

pack_app = typer.Typer(help="Domain packs: folders of tools, handlers, policy and state.", no_args_is_help=True,
                       rich_markup_mode=None)
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


@pack_app.command("rules")
def rules_command(
    path: Annotated[str, typer.Argument(help="A pack folder, or a built-in pack name (demo, airline).")],
    inputs: Annotated[list[Path], typer.Option("--input", "-i", help="Trace files the drafts are judged on.")],
    model: Annotated[str, typer.Option(help="LLM that drafts the rules from the pack's policy.md (litellm model "
                                            "string).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder the kept rules are written to (NAME.py).")],
    db: Annotated[Path | None, typer.Option(help="Database folder for a pack that needs one.")] = None,
    api_base: Annotated[str | None, typer.Option(help="OpenAI-compatible server for --model.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Budget in USD for --model.")] = None,
) -> None:
    """Draft policy rules with --model; keep only those no successful trace breaks (one line per draft)."""
    from clawloop_synth.generate.rules_draft import draft_rules, write_rules
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim.pack import load_pack

    pack = load_pack(path, db)
    traces = list(iter_traces(inputs))
    config = {"max_cost": max_cost} if max_cost is not None else {}
    report = draft_rules(pack, traces, model, api_base=api_base, **config)
    for verdict in report.verdicts:
        state = "kept" if verdict.kept else f"dropped: {verdict.reason}"
        typer.echo(f"{verdict.rule.name}: {state} (flags {verdict.flagged_failed} calls in failed traces)")
    written = write_rules(report.kept, out)
    typer.echo(f"{len(written)} of {len(report.verdicts)} drafted rules kept in {out}")
