"""`clawloop-synth run`: every stage built so far, on the embedded default, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption


def _line(stage: str, s: dict[str, Any]) -> str:
    """One human line per stage summary."""
    if stage == "ingest":
        unrated = " (none has a reward)" if s["reward"].get("unrated") == s["traces"] else ""
        return (f"{s['traces']} traces{unrated}, {s['reward']['zero']} with reward 0, "
                f"{s['tool_results']} tool results ({s['tool_result_errors']} errors)")
    if stage == "mine":
        return (f"{s['failures']} failures in {s.get('failed_traces', '?')} failed traces, "
                f"{s.get('failed_traces_located', '?')} located ({s.get('unexplained_traces', '?')} unexplained)")
    if stage == "pack":
        if s["how"] == "induced":
            return (f"induced pack '{s['name']}' at {s['pack']} ({s['tools']} tools, collections "
                    f"{', '.join(s['collections']) or 'none'}): the traces' tools match no built-in pack")
        why = "given" if s["how"] == "given" else "its tools are the traces' tools"
        return f"{s['pack']} ({why})"
    if stage == "cluster":
        return f"{len(s['clusters'])} clusters (k={s['k']} by {s['k_chosen_by']}, silhouette {s['silhouette']})"
    if stage == "generate":
        return (f"{s['accepted']} tasks accepted, {s['rejected']} rejected "
                f"({s['generator']} generator, {s['domain']} domain)")
    if stage == "coverage":
        return (f"precision {s['precision']:.3f}, recall {s['recall']:.3f}, density {s['density']:.3f}, "
                f"coverage {s['coverage']:.3f} of {s['n_synthetic']} tasks against {s['n_real']} traces")
    if stage == "rollout":
        return f"{s['rollouts']} rollouts ({s['agents_spec']} agents, {s['k']} attempts per task)"
    if stage == "difficulty":
        return f"difficulty of {s['tasks']} tasks from {s['attempts']} attempts by {s['agents']} agents"
    if stage == "curriculum":
        return f"{s['tasks']} tasks ordered by {s['strategy']}"
    if stage == "export":
        return f"{s['exported']} tasks exported to {s['out']}"
    if stage == "report":
        return f"{len(s['sections'])} sections written to {s['path']}"
    return ""


@app.command(help="Run every stage (ingest, mine, pack, cluster, generate, coverage, rollout, difficulty, "
                  "curriculum, export, report) on the embedded demo traces (or --input), offline unless a model is "
                  "given. The tasks are built in --pack, or in the built-in pack whose tools are the traces' tools, "
                  "or in a pack induced from the traces. --config FILE (TOML) sets every stage's options: a table "
                  "per stage command ([generate], [mine], ...) with the command's option names; --print-config "
                  "writes the effective one. Command line beats the file, the file beats the defaults. Finished "
                  "stages are skipped on a re-run (a changed option re-runs its stage and those after it) "
                  "unless --force.")
def run(
    workdir: Annotated[Path | None, typer.Option("--workdir", "-w", help="Work directory [default: runs/default].",
                                                 show_default=False)] = None,
    inputs: Annotated[list[Path] | None, typer.Option("--input", "-i", help="Trace file or folder, repeat -i for "
                                                      "several (default: the embedded demo traces).")] = None,
    config_file: Annotated[Path | None, typer.Option("--config", "-c", help="TOML file with run's options and a "
                                                     "table per stage command (see --print-config).")] = None,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the effective configuration as "
                                               "TOML and exit.")] = False,
    domain: Annotated[str | None, typer.Option("--pack", "--domain", help="Domain pack the tasks are built in: a "
                                               "built-in name (demo, airline) or a pack folder path; --domain is an "
                                               "alias. Default: the built-in pack whose tools are the traces' tools, "
                                               "else one induced from the traces into WORKDIR/pack.")] = None,
    db: Annotated[Path | None, typer.Option(help="Database folder of the domain pack (airline: "
                                            "../shared/datasets/tau-bench/airline-db).")] = None,
    generator: Annotated[str | None, typer.Option(help="generate's generator: procedural (offline, the "
                                                  "default), llm or dspy.")] = None,
    model: Annotated[str | None, typer.Option(help="litellm model string for generate (and a bare 'llm' "
                                              "rollout agent).")] = None,
    api_base: Annotated[str | None, typer.Option(help="OpenAI-compatible server for --model (vLLM, Ollama).")] = None,
    max_cost: Annotated[float | None, typer.Option(help="generate's budget in USD; stops cleanly.")] = None,
    embedder: Annotated[str | None, typer.Option(help="cluster's and coverage's embedder: hashing (the default), "
                                                 "sentence-transformers or litellm.")] = None,
    on_error: Annotated[str | None, typer.Option(help="ingest: 'raise' (the default) stops at the first bad "
                                                 "record; 'skip' skips it and counts it with its reason.")] = None,
    per_cluster: Annotated[int | None, typer.Option(min=1, help=(
        "Accepted tasks wanted per failure cluster, on average: per-cluster x clusters tasks in all, split by "
        "each cluster's real failure mass (failed traces) with a floor of 2 x per-cluster // 5 (at least 1) each; "
        "--allocation even gives exactly per-cluster each [default: 5]."))] = None,
    allocation: Annotated[str | None, typer.Option(help="mass (by real failure mass, with a floor; the default) "
                                                   "or even.")] = None,
    rewards: Annotated[Path | None, typer.Option(help="JSON rewards for traces whose files carry none (see "
                                                 "`ingest --help`).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for every random choice [default: 0].")] = None,
    policy_from_traces: Annotated[bool | None, typer.Option(
        "--policy-from-traces/--pack-policy", help="Use the system prompt the traces share as the policy "
        "(instead of the pack's policy.md, the default).")] = None,
    force: Annotated[bool, typer.Option(help="Re-run finished stages.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stage summaries as JSON.")] = False,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    from clawloop_synth.cli.progress import counter
    from clawloop_synth.cli.run_config import effective_config, to_toml
    from clawloop_synth.pipeline import RunConfig, run_pipeline
    from clawloop_synth.workdir import workdir_lock

    given = {"workdir": workdir, "inputs": inputs or None, "domain": domain, "db": db, "generator": generator,
             "model": model, "api_base": api_base, "max_cost": max_cost, "embedder": embedder, "on_error": on_error,
             "per_cluster": per_cluster, "allocation": allocation, "rewards": rewards, "seed": seed,
             "policy_from_traces": policy_from_traces}
    effective = effective_config({k: v for k, v in given.items() if v is not None}, config_file)
    if print_config:
        typer.echo(to_toml(effective), nl=False)
        return
    config = RunConfig(domain=effective.domain, db=effective.db, force=force, options=effective.stages,
                       engine=engine, address=address, workers=workers)
    if effective.inputs:
        config.inputs = list(effective.inputs)
    workdir = effective.workdir

    def report(stage: str, summary: dict[str, Any], skipped: bool) -> None:
        if not as_json:
            typer.echo(f"{stage:>10}: {'(done before) ' if skipped else ''}{_line(stage, summary)}")

    with workdir_lock(workdir, "clawloop-synth run"), counter("run", "items", quiet=as_json) as tick:
        results = run_pipeline(workdir, config, tick=lambda _stage: tick(), report=report)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
        return
    typer.echo(f"work directory: {workdir}")
    if "export" in results:
        typer.echo(f"exported dataset: {results['export']['out']} (datasets.load_from_disk of its dataset/ folder)")
    if "report" in results:
        typer.echo(f"report: {results['report']['path']} (open it in a browser)")
