"""`clawloop-synth induce -i TRACES -o PACK [--db DIR] [--model M]`: a domain pack from traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption, engine_for
from clawloop_synth.cli.shape import Inputs, OldInputs, Workdir

__all__ = ["induce_command"]


@app.command("induce")
def induce_command(
    inputs: Inputs = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Pack folder to write (default: WORKDIR/pack, "
                                             "where `run` induces its pack).")] = None,
    workdir: Workdir = None,
    old_inputs: OldInputs = None,
    db: Annotated[Path | None, typer.Option(help="Database folder (COLLECTION.json files); else the state "
                                                 "is reconstructed from read results.")] = None,
    model: Annotated[str | None, typer.Option(help="LLM that writes and repairs the handlers the offline "
                                                   "search leaves inexact (litellm model string).")] = None,
    api_base: Annotated[str | None, typer.Option(help="OpenAI-compatible server for --model.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Budget in USD for --model.")] = None,
    rounds: Annotated[int, typer.Option(help="Repair rounds per handler with --model.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print induce.json.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    """Induce tools, policy, state and sandboxed handlers from traces; write the pack and induce.json."""
    from clawloop_synth.induce import induce_pack
    from clawloop_synth.induce.online import OnlineConfig

    if out is None:
        if workdir is None:
            raise typer.BadParameter("missing: give the pack folder with -o PACK (or -w DIR for DIR/pack)",
                                     param_hint="-o/--out")
        out = workdir / "pack"
    traces = inputs or []
    online = None
    if model is not None:
        online = OnlineConfig(model, api_base=api_base, max_cost=max_cost, rounds=rounds,
                              cache_dir=out / ".llm-cache")
    with engine_for(engine, address, workers) as chosen:
        folder = induce_pack(traces, out, db=db, model=online, engine=chosen)
    report = json.loads((folder / "induce.json").read_text(encoding="utf-8"))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"induced {len(report['tools'])} tools from {report['traces']} traces into {folder}: "
               f"{report['examples_reproduced']}/{report['examples_seen']} recorded results reproduced, "
               f"state from {report['state_from']} ({', '.join(report['collections']) or 'no collections'}), "
               f"{report['seconds']:.1f} s")
    for tool, figures in report["tools"].items():
        typer.echo(f"  {tool}: {figures['kind']}, {figures['reproduced']}/{figures['seen']}")
