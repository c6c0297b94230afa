"""`clawloop-synth mine -w WORKDIR` and `clawloop-synth cluster -w WORKDIR`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.engine_options import AddressOption, EngineOption, WorkersOption, engine_for
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["cluster", "mine"]


@app.command()
def mine(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    pack: Annotated[str | None, typer.Option(help="Domain pack (a built-in name or a pack folder path) whose tool "
                                             "schemas and write flags to use.")] = None,
    pack_db: Annotated[Path | None, typer.Option(help="Database folder for the domain pack.")] = None,
    fail_below: Annotated[float, typer.Option(help="A reward below this marks a failed trace.")] = 0.5,
    traces: Annotated[str, typer.Option(help="Which dataset to mine: 'traces' (ingested) or 'rollouts' "
                                             "(agents run on the synthesized tasks).")] = "traces",
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    """Locate and classify failures in every trace: WORKDIR/failures and mine.json."""
    workdir = given(workdir)
    from clawloop_synth.mine.stage import run_mine

    tools = None
    if pack is not None:
        from clawloop_synth.sim.pack import load_pack

        tools = list(load_pack(pack, pack_db).tools)
    with engine_for(engine, address, workers) as chosen:
        summary = run_mine(workdir, pack_tools=tools, fail_below=fail_below, source=traces, engine=chosen)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"{summary['traces']} traces, {summary['failed_traces']} failed "
               f"({summary['failed_traces_located']} located), {summary['failures']} failures")
    typer.echo(f"error results: {summary['error_results']} ({summary['error_results_unknown']} unclassified); "
               f"unexplained failed traces: {summary['unexplained_traces']} ({summary['unexplained_share']:.1%})")
    for code, n in summary["by_code"].items():
        typer.echo(f"  {n:6d}  {code}")
    from clawloop_synth.mine.stage import nothing_to_mine

    problem = nothing_to_mine(summary)
    if problem is not None:
        typer.secho(f"note: {problem}", fg=typer.colors.YELLOW, err=True)
    if tools is not None and not summary["pack_applied"]:
        typer.secho(f"note: the {pack} pack's tools are not the traces' tools: mined with the traces' own",
                    fg=typer.colors.YELLOW, err=True)


@app.command()
def cluster(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    k: Annotated[int | None, typer.Option("--k", min=1, help="Number of clusters (default: by silhouette).")] = None,
    embedder: Annotated[str, typer.Option(help="hashing, sentence-transformers or litellm.")] = "hashing",
    model: Annotated[str | None, typer.Option(help="Embedding model name or path.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed for k-means.")] = 0,
    method: Annotated[str, typer.Option(help="kmeans (faiss) or hdbscan.")] = "kmeans",
    llm: Annotated[str | None, typer.Option(help="Model that names the clusters (default: c-TF-IDF).")] = None,
    api_base: Annotated[str | None, typer.Option(help="Server for --llm (local or self-hosted).")] = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
    workers: WorkersOption = None,
) -> None:
    """Embed the failure cards and cluster them into failure modes: clusters, cluster.json, clusters.md."""
    workdir = given(workdir)
    from clawloop_synth.mine.stage import run_cluster

    with engine_for(engine, address, workers) as chosen:
        summary = run_cluster(workdir, k=k, embedder=embedder, model=model, seed=seed, method=method,
                              llm_model=llm, llm_api_base=api_base, engine=chosen)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    emb = summary["embedder"]
    typer.echo(f"{summary['failures']} failures -> {summary['k']} clusters ({summary['method']}, "
               f"k by {summary['k_chosen_by']}, silhouette {summary['silhouette']}); "
               f"embedded {emb['embedded']}, cache hits {emb['cache_hits']}")
    for c in summary["clusters"]:
        typer.echo(f"  {c['id']}  {c['size']:5d}  {c['label']}")
