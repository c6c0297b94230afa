"""`clawloop-synth sim ...`: the simulator's commands (``verify`` here; ``replay`` in sim_replay)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption, engine_for

__all__ = ["load_tasks", "sim_app"]

sim_app = typer.Typer(
    help="Run tasks in the sandboxed simulator: verify them, replay traces.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(sim_app, name="sim")


def load_tasks(path: Path) -> list[Any]:
    """TaskSpecs from a JSON file (one object or a list), a JSONL file, or a saved tasks dataset."""
    from pydantic import ValidationError

    from clawloop_synth.errors import InputError
    from clawloop_synth.types import TaskSpec

    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    if path.is_dir():
        from clawloop_synth.store import load_records

        try:
            return list(load_records(path, TaskSpec))
        except ValidationError as exc:
            raise InputError(_first_error(exc), file=str(path)) from None
        except (FileNotFoundError, ValueError) as exc:
            raise InputError(f"not a tasks dataset: {exc}", file=str(path)) from None
    text = path.read_text(encoding="utf-8")
    items: list[tuple[str, Any]] = []
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise InputError(f"invalid JSON: {exc.msg}", file=str(path), record=f"line {number}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} (line {exc.lineno})", file=str(path)) from None
        records = data if isinstance(data, list) else [data]
        items = [(f"record {index}", item) for index, item in enumerate(records)]
    tasks = []
    for where, item in items:
        try:
            tasks.append(TaskSpec.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            raise InputError(error["msg"], file=str(path), record=where, field=field or None) from None
    return tasks


def _first_error(exc: Any) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


@sim_app.command("verify")
def verify_command(
    tasks: Annotated[Path, typer.Argument(help="TaskSpecs: a .json / .jsonl file or a saved tasks dataset folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    """Verify tasks: the reference passes; the empty run, short prefixes and the failure exemplar fail."""
    from clawloop_synth.sim.verify import RULES, verify

    loaded = load_tasks(tasks)
    with engine_for(engine, address, workers) as chosen:
        reports = list(chosen.map_ordered(verify, loaded, batch=4))
    failed = sum(1 for report in reports if not report.ok)
    if as_json:
        payload = {
            "tasks": len(reports),
            "passed": len(reports) - failed,
            "failed": failed,
            "reports": [{**report.model_dump(), "ok": report.ok} for report in reports],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"sim verify: {len(reports) - failed}/{len(reports)} tasks pass every rule")
        table.add_column("task")
        for rule in RULES:
            table.add_column(rule)
        for report in reports:
            marks = {r.rule: ("[green]pass[/]" if r.passed else "[red]FAIL[/]") for r in report.rules}
            table.add_row(report.task_id, *(marks.get(rule, "-") for rule in RULES))
        console = Console()
        console.print(table)
        for report in reports:
            for failure in report.failed():
                console.print(f"[red]{report.task_id}[/] {failure.rule}: {failure.detail}", markup=True,
                              highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
