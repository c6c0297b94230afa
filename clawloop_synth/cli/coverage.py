"""`clawloop-synth coverage -w WORKDIR`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from clawloop_synth.cli import app
from clawloop_synth.cli.shape import OldWorkdir, Workdir, given

__all__ = ["coverage"]


@app.command()
def coverage(
    workdir: Workdir = None,
    old_workdir: OldWorkdir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours that set each k-NN ball radius.")] = 5,
    embedder: Annotated[str, typer.Option(help="hashing, sentence-transformers or litellm.")] = "hashing",
    model: Annotated[str | None, typer.Option(help="Embedding model name or path.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the held-out sample for gap-filling.")] = 0,
) -> None:
    """Novelty, precision/recall/density/coverage, Vendi and gap-filling of the accepted tasks against
    the real traces: coverage.json, coverage_projection.svg and coverage_clusters.svg."""
    workdir = given(workdir)
    from clawloop_synth.coverage.stage import run_coverage

    summary = run_coverage(workdir, k=k, embedder=embedder, model=model, seed=seed)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    gap = summary["gap_fill"] or {}
    typer.echo(f"{summary['n_synthetic']} tasks vs {summary['n_real']} traces (k={summary['k']}, "
               f"exact={summary['exact']})")
    typer.echo(f"precision {summary['precision']:.3f}  recall {summary['recall']:.3f}  "
               f"density {summary['density']:.3f}  coverage {summary['coverage']:.3f}")
    typer.echo(f"novelty median {summary['novelty']['median']:.3f}  Vendi tasks "
               f"{summary['vendi']['synthetic']:.2f} / traces {summary['vendi']['real']:.2f}")
    if gap:
        typer.echo(f"gap-filling: tasks {gap['synthetic_share']:.3f} vs held-out traces {gap['holdout_share']:.3f}")
    per = summary["per_cluster"]
    typer.echo(f"clusters without tasks: {len(per['uncovered'])} of {len(per['clusters'])}"
               + (f" ({', '.join(per['uncovered'])})" if per["uncovered"] else ""))
