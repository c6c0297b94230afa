"""`clawloop-synth sim replay TRACES --pack airline --db DIR`: how faithfully a pack simulates traces."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli.sim import sim_app

__all__: list[str] = []


@sim_app.command("replay")
def replay_command(
    traces: Annotated[list[Path], typer.Argument(help="Trace files or folders (any format ingest reads).")],
    domain: Annotated[str, typer.Option("--pack", "--domain", help="Domain pack to replay against: a built-in name "
                                        "or a pack folder path; --domain is an alias.")] = "airline",
    db: Annotated[Path | None, typer.Option(help="The pack's database folder (one JSON file per collection).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Replay each trace's tool calls from a fresh copy of the database; compare results and rewards."""
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.sim.replay import replay_traces

    pack = load_pack(domain, db)
    started = time.perf_counter()
    records = list(iter_traces(traces))
    ingest_seconds = time.perf_counter() - started
    report = replay_traces(records, pack)
    if as_json:
        typer.echo(json.dumps({**report.to_json(), "ingest_seconds": round(ingest_seconds, 3)}, indent=2))
        return
    agreement = "n/a" if report.reward_agreement is None else f"{report.reward_agreement:.3f}"
    typer.echo(
        f"{report.trajectories} trajectories: {report.tool_results_equal}/{report.tool_results_total} tool results "
        f"equal ({report.equal_ratio:.3f}; {report.equal_only_after_key_alias} only after renaming "
        f"{report.key_aliases or 'no keys'}), reward agreement {agreement} "
        f"({report.rewards_agreeing}/{report.trajectories_with_reward}), {report.seconds:.2f} s"
    )
    for mismatch in report.mismatches[:5]:
        typer.echo(f"  differs: {mismatch['trace']} step {mismatch['step']} {mismatch['tool']}")


@sim_app.command("airline-gold")
def airline_gold_command(
    traces: Annotated[list[Path], typer.Argument(help="tau-bench airline trajectories (JSON).")],
    db: Annotated[Path, typer.Option(help="The airline database folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file to write the TaskSpecs to.")],
) -> None:
    """Turn the distinct tau-bench airline tasks into TaskSpecs (gold actions as reference); check with `sim verify`."""
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim.gold import gold_tasks
    from clawloop_synth.sim.pack import load_pack

    tasks = gold_tasks(iter_traces(traces), load_pack("airline", db), db)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for task in tasks:
            handle.write(task.model_dump_json() + "\n")
    typer.echo(f"wrote {len(tasks)} tasks to {out}")
