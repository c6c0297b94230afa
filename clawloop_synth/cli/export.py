"""`clawloop-synth export`: a work directory's tasks as a Hugging Face dataset or fine-tuning files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["export"]


@app.command(help="Export the accepted tasks of WORKDIR as hf (TaskSpecs), sft (TRL conversations), openai "
                  "(fine-tuning JSONL), rl (prompts + a TRL environment), verifiers or openenv (TaskSpecs + an "
                  "installable environment), with a dataset card.")
def export(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="hf, sft, dpo, openai, rl, verifiers (an installable "
                                     "verifiers environment) or openenv (an OpenEnv environment).")] = "hf",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: new, empty, or an earlier export "
                                                 "(replaced); any other folder is refused.")] = Path("export"),
    seed: Annotated[int, typer.Option(help="Seed of the train/validation/test split.")] = 0,
    push_to_hub: Annotated[str | None, typer.Option("--push-to-hub", help="Also push to this Hub dataset "
                                                    "repository (token: HF_TOKEN or the stored login).")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the Hub repository as private.")] = False,
    license: Annotated[str, typer.Option(help="License for the card's header.")] = "other",
    max_tool_result_chars: Annotated[int, typer.Option(
        min=0, help="Cut each tool result (sft, openai, rl) to this many characters, marking the cut in the "
                    "result; 0: never cut. The export warns when a cut hides a value the reference needs "
                    "later.")] = 8000,
    tool_result_format: Annotated[str, typer.Option(
        help="How tool results are shown (sft, openai, rl): lines (a JSON result as key: value lines, a "
             "result that repeats an earlier one of the episode as what is new in it: fewer tokens) or json (as "
             "the simulator returns it).")] = "lines",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    workdir = given(workdir)
    from clawloop_synth.export import export_tasks, push_export

    # The work directory's export.json stays the run's own export summary.
    summary = export_tasks(workdir, fmt, out, seed, license=license, max_tool_result_chars=max_tool_result_chars,
                           tool_result_format=tool_result_format, workdir_summary=False)
    if push_to_hub:
        summary["pushed"] = push_export(out, push_to_hub, private=private)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    splits = ", ".join(f"{name} {n}" for name, n in summary["splits"].items()) or "no tasks"
    typer.echo(f"exported {summary['exported']} of {summary['tasks']} tasks as {fmt} to {out} ({splits})")
    if summary["skipped"]:
        typer.echo(f"left out {len(summary['skipped'])} task(s) that fail verification; see {out / 'export.json'}")
    completion = summary.get("completion_tokens") or {}
    if completion.get("tasks"):
        typer.echo(f"reference tool loop per episode: median {completion['median']}, max {completion['max']} tokens "
                   f"({completion['counted_with']}); set max_completion_length at or above the median")
        if completion.get("tasks_with_needed_values_cut"):
            typer.echo(f"warning: in {completion['tasks_with_needed_values_cut']} task(s) a cut tool result hides a "
                       "value the reference needs later; raise --max-tool-result-chars")
    if push_to_hub:
        typer.echo(f"pushed to {summary['pushed']['url']}")
