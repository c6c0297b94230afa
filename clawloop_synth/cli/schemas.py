"""`clawloop-synth schemas`: regenerate ``schemas/*.json`` from ``types.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app


@app.command(help="Write the JSON Schemas of the public contracts (generated from clawloop_synth/types.py).")
def schemas(out: Annotated[Path, typer.Option("--out", help="Folder to write.")] = Path("schemas")) -> None:
    from clawloop_synth.schema_export import write_schemas

    for path in write_schemas(out):
        typer.echo(f"wrote {path}")
