"""`clawloop-synth ingest PATH... --out WORKDIR`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.progress import counter

_FORMATS = "OpenAI chat JSONL, tau-bench JSON, ClawLoop episodes, Who&When JSON, saved HF datasets, parquet"


@app.command(help=f"Read traces ({_FORMATS}; folders file by file, format detected from content) into "
                  "WORKDIR/traces and write WORKDIR/ingest.json.")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Trace files or folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Work directory to write.")],
    on_error: Annotated[str, typer.Option(help="'raise': stop at the first bad record; "
                                               "'skip': skip it and count it with its reason.")] = "raise",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    from clawloop_synth.errors import InputError
    from clawloop_synth.ingest.stage import run_ingest

    if on_error not in ("raise", "skip"):
        raise InputError(f"--on-error must be 'raise' or 'skip', not {on_error!r}")
    with counter("ingest", "traces", quiet=as_json) as tick:
        summary = run_ingest(paths, out, on_error=on_error, progress=tick)  # type: ignore[arg-type]
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
    typer.echo(f"wrote {out / 'traces'} and {out / 'ingest.json'}")
