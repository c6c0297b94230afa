"""`clawloop-synth sim demo-traces` and `sim demo-tasks`: the embedded demo domain's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli.sim import sim_app

__all__: list[str] = []


@sim_app.command("demo-traces")
def demo_traces_command(
    out: Annotated[Path, typer.Option(help="Where to write the JSONL traces.")] = Path("datasets/demo/traces.jsonl"),
    seed: Annotated[int, typer.Option(help="Seed of the clinic, its tasks and the agent population.")] = 0,
    n: Annotated[int, typer.Option(help="Number of traces (runs) to write.", min=1)] = 320,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Run the scripted agent population on the demo tasks and write the runs as OpenAI chat JSONL."""
    from clawloop_synth.demo.traces import write_demo_traces

    counts = write_demo_traces(out, n=n, seed=seed)
    modes: dict[str, dict[str, int]] = {}
    for (mode, reward), count in sorted(counts.items()):
        modes.setdefault(mode, {})[f"{reward:g}"] = count
    summary = {"out": str(out), "traces": n, "seed": seed, "planted_mode_by_reward": modes}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"wrote {n} traces to {out}")
    for mode, by_reward in modes.items():
        typer.echo(f"  {mode:<26} " + "  ".join(f"reward {r}: {c}" for r, c in by_reward.items()))


@sim_app.command("demo-tasks")
def demo_tasks_command(
    out: Annotated[Path, typer.Option(help="Where to write the TaskSpecs as JSONL.")],
    seed: Annotated[int, typer.Option(help="Seed of the clinic and the task choices.")] = 0,
    n: Annotated[int, typer.Option(help="Number of tasks.", min=1)] = 40,
) -> None:
    """Write the demo domain's templated tasks (the input of `sim verify` and of rollouts)."""
    from clawloop_synth.demo import build_demo_tasks

    tasks = build_demo_tasks(n, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(task.model_dump_json() + "\n" for task in tasks), encoding="utf-8")
    typer.echo(f"wrote {len(tasks)} tasks to {out}")
