"""`clawloop-synth ingest -w WORKDIR -i PATH [-i PATH ...]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption, engine_for
from clawloop_synth.cli.progress import counter
from clawloop_synth.cli.shape import Inputs, OldInputs, OldWorkdirOut, Workdir, given

_FORMATS = ("OpenAI chat JSONL, tau-bench JSON, ClawLoop episodes (also its server's list and its archive), "
            "Who&When JSON, mini-swe-agent trajectories, saved HF datasets, parquet")


@app.command(help=f"Read traces ({_FORMATS}; folders file by file, format detected from content) into "
                  "WORKDIR/traces and write WORKDIR/ingest.json.")
def ingest(
    workdir: Workdir = None,
    inputs: Inputs = None,
    old_inputs: OldInputs = None,
    old_workdir: OldWorkdirOut = None,
    on_error: Annotated[str, typer.Option(help="'raise': stop at the first bad record; "
                                               "'skip': skip it and count it with its reason.")] = "raise",
    rewards: Annotated[Path | None, typer.Option(help="JSON rewards for traces whose files carry none: "
                                                 "id -> reward (0 to 1) or resolved (true/false), or a "
                                                 "SWE-bench report with resolved_ids.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    from clawloop_synth.errors import InputError
    from clawloop_synth.ingest.stage import run_ingest

    out, paths = given(workdir), inputs or []

    if on_error not in ("raise", "skip"):
        raise InputError(f"--on-error must be 'raise' or 'skip', not {on_error!r}")
    with engine_for(engine, address, workers) as chosen, counter("ingest", "traces", quiet=as_json) as tick:
        summary = run_ingest(paths, out, on_error=on_error, progress=tick,  # type: ignore[arg-type]
                             rewards=rewards, engine=chosen)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    reward = summary["reward"]
    typer.echo(
        f"{summary['traces']} traces ({', '.join(f'{k}: {v}' for k, v in summary['by_format'].items())}), "
        f"{reward['zero']} with reward 0, {summary['tool_results']} tool results "
        f"({summary['tool_result_errors']} errors), gold actions on {summary['gold']['actions']}, "
        f"gold failure labels on {summary['gold']['failure_labels']}, skipped {summary['skipped']}"
    )
    for line in notes(summary):
        typer.echo(line)
    typer.echo(f"wrote {out / 'traces'} and {out / 'ingest.json'}")


def notes(summary: dict[str, Any]) -> list[str]:
    """The lines worth a user's attention beyond the counts (also printed by ``run``)."""
    lines = []
    if summary.get("unrated"):
        lines.append(summary["unrated"])
    elif summary["reward"]["unrated"]:
        lines.append(f"{summary['reward']['unrated']} of {summary['traces']} traces have no reward "
                     "(left out of failure mining's failed/successful split)")
    given = summary.get("rewards_file")
    if given:
        lines.append(f"rewards file {given['file']}: {given['traces_matched']} traces rated, "
                     f"{given['traces_not_listed']} not listed, {given['entries_unused']} entries unused")
    if summary.get("duplicate_ids"):
        lines.append(f"{summary['duplicate_ids']} duplicate trace ids renamed (ID@FOLDER/FILE#N); "
                     "see duplicate_id_examples in ingest.json")
    for dup in summary.get("duplicate_files") or []:
        lines.append(f"not read: {dup['file']} has the same content as {dup['same_content_as']}")
    schemas = summary.get("tool_schemas") or {}
    if schemas.get("tools_changed"):
        lines.append(f"{schemas['tools_changed']} tool schemas normalized to JSON Schema "
                     f"({sum(schemas['types'].values())} type names mapped, "
                     f"{sum(schemas['unknown_types_as_any'].values())} unknown taken as any, "
                     f"{sum(schemas['invalid_keywords_dropped'].values())} invalid keywords dropped)")
    return lines
