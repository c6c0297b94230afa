"""``clawloop-synth evaluate``: a task set's worth as training data, one table (and evaluate.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given


@app.command()
def evaluate(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    against: Annotated[Path | None, typer.Option(help="A second work directory to compare with.")] = None,
    min_side: Annotated[int, typer.Option(min=1, help="Fewest tasks on each side for a discrimination "
                                          "ratio.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print evaluate.json instead of the table.")] = False,
    rules: Annotated[str | None, typer.Option(help="Judge references by this pack's policy rules (a built-in "
                                              "name or a folder) instead of the rules each task carries, e.g. "
                                              "an induced pack's tasks by the hand-built pack's rules.")] = None,
) -> None:
    """Kinds, skeletons, tool sequences, writes, policy violations, ambiguity, shortcut solves, information
    need, per-code discrimination, coverage, novelty and difficulty spread; writes WORKDIR/evaluate.json."""
    workdir = given(workdir)
    from clawloop_synth.evaluate import run_evaluate, table

    judge = None
    if rules is not None:
        from clawloop_synth.sim.pack import load_pack
        from clawloop_synth.sim.rules import pack_rules

        judge = pack_rules(load_pack(rules))
    result = run_evaluate(workdir, against, min_side, rules=judge)
    typer.echo(json.dumps(result, indent=2) if as_json else table(result))
