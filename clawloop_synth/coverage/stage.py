"""The ``coverage`` stage: accepted tasks against the real traces, in one embedding space.

Reads WORKDIR/traces, failures, clusters and tasks (the accepted tasks); writes coverage.json,
coverage_projection.svg and coverage_clusters.svg. :func:`compare_task_sets` puts several task
sets (targeted vs a random-sampling baseline) side by side against the same real traces.

Traces and tasks go through the per-facet view of :mod:`clawloop_synth.coverage.views`; the
state-changing tools are those the tasks' tool specs mark as writing. The default embedder stays
``hashing`` (deterministic, no model load): on the airline run the offline MiniLM
(``--embedder sentence-transformers``) moved the figures by a few points, not in one direction,
and embedding took ~30 s on two shared CPUs (``evals/coverage_airline.py --embedder both``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clawloop_synth.coverage.metrics import CoverageConfig, CoverageResult, evaluate
from clawloop_synth.coverage.views import FACETS, TextView, embed_views, failures_by_trace, task_view, trace_view
from clawloop_synth.errors import InputError
from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace

__all__ = ["cluster_coverage", "compare_task_sets", "embed_views", "real_views", "run_coverage", "write_tools"]

_INPUTS: dict[str, Any] = {"traces": Trace, "failures": Failure, "clusters": FailureCluster, "tasks": TaskSpec}


def _load(workdir: Path, name: str) -> list[Any]:
    from clawloop_synth.store import load_records, load_shared, require_records

    folder = workdir / name
    require_records(folder, name, "the coverage stage needs traces, failures, clusters and tasks "
                                  "(run ingest, mine, cluster and generate first)")
    if name == "tasks":  # the later stages read them too
        return load_shared(folder, TaskSpec)
    return list(load_records(folder, _INPUTS[name]))


def write_tools(tasks: Sequence[TaskSpec]) -> frozenset[str]:
    """The state-changing tool names, as the tasks' tool specs mark them (traces do not say)."""
    return frozenset(tool.name for task in tasks for tool in task.tools if tool.writes)


def real_views(traces: Sequence[Trace], failures: Sequence[Failure], writes: Iterable[str] = ()) -> list[TextView]:
    """The views of the real traces, each with the failures mined on it."""
    grouped = failures_by_trace(failures)
    names = frozenset(writes)
    return [trace_view(trace, grouped.get(trace.id, ()), names) for trace in traces]


def cluster_coverage(clusters: Sequence[FailureCluster], tasks: Sequence[TaskSpec]) -> dict[str, Any]:
    """Accepted tasks per failure cluster, the clusters with none, and tasks aimed at no known cluster."""
    counts = Counter(task.target_cluster for task in tasks)
    rows = [{"id": c.id, "label": c.label, "size": c.size, "tasks": counts.get(c.id, 0)} for c in clusters]
    known = {c.id for c in clusters}
    real = [(c.id, counts.get(c.id, 0)) for c in clusters if c.id != "noise"]
    return {
        "clusters": rows,
        "uncovered": [cid for cid, n in real if n == 0],
        "covered_share": (sum(n > 0 for _, n in real) / len(real)) if real else None,
        "untargeted_tasks": counts.get(None, 0),
        "unknown_cluster_tasks": sum(n for cid, n in counts.items() if cid is not None and cid not in known),
    }


def _neighbours(n_real: int, n_tasks: int, k: int, where: str) -> int:
    """The k the sets allow: ``k`` itself, or fewer when a small run has no more than k traces or tasks."""
    usable = min(k, n_real - 1, n_tasks - 1)
    if usable < 1:
        raise InputError(f"coverage needs at least 2 traces and 2 tasks, found {n_real} traces and "
                         f"{n_tasks} tasks", file=where, field="k")
    return usable


def compare_task_sets(real: np.ndarray, task_sets: dict[str, np.ndarray],
                      config: CoverageConfig | None = None) -> dict[str, dict[str, Any]]:
    """The coverage summary of each named set of task embeddings against the same real embeddings.

    This is the entry point for the airline side-by-side (targeted tasks vs a random-sampling
    baseline); ``evals/coverage_airline.py`` feeds it from two work directories.
    """
    return {name: evaluate(real, x, config).summary() for name, x in task_sets.items()}


def run_coverage(workdir: Path, k: int = 5, embedder: str = "hashing", model: str | None = None,
                 seed: int = 0, plots: bool = True) -> dict[str, Any]:
    """Measure the accepted tasks of ``workdir`` against its traces; write coverage.json and plots."""
    from clawloop_synth.embed import make_embedder
    from clawloop_synth.workdir import Manifest, write_json

    started = time.perf_counter()
    traces, failures = _load(workdir, "traces"), _load(workdir, "failures")
    clusters, tasks = _load(workdir, "clusters"), _load(workdir, "tasks")
    k_used = _neighbours(len(traces), len(tasks), k, str(workdir))
    try:
        emb = make_embedder(embedder, model, cache_path=workdir / "cache" / "embeddings.sqlite")
    except ValueError as exc:
        raise InputError(str(exc), field="embedder") from None
    writes = write_tools(tasks)
    rviews, tviews = real_views(traces, failures, writes), [task_view(task, writes) for task in tasks]
    real, synth = embed_views(rviews, emb.embed), embed_views(tviews, emb.embed)
    result = evaluate(real, synth, CoverageConfig(k=k_used, seed=seed))
    per_cluster = cluster_coverage(clusters, tasks)
    summary: dict[str, Any] = {"stage": "coverage", "embedder": f"{embedder}:{getattr(emb, 'model', model)}",
                               "view": {"facets": FACETS, "writes": sorted(writes)},
                               **result.summary(), "k_requested": k, "per_cluster": per_cluster,
                               "most_novel_tasks": _most_novel(result, tviews, rviews)}
    if plots:
        from clawloop_synth.coverage.plots import plot_clusters, plot_projection

        summary["plots"] = [plot_projection(real, synth, workdir / "coverage_projection.svg"),
                            plot_clusters(per_cluster, workdir / "coverage_clusters.svg")]
    summary["seconds"] = round(time.perf_counter() - started, 2)
    write_json(workdir / "coverage.json", summary)
    Manifest(workdir).record("coverage", {"k": k, "embedder": embedder, "model": model, "seed": seed},
                             {"traces": len(traces), "tasks": len(tasks)})
    return summary


def _most_novel(result: CoverageResult, tviews: list[TextView], rviews: list[TextView],
                n: int = 5) -> list[dict[str, Any]]:
    order = np.argsort(-result.novelty, kind="stable")[:n]
    return [{"task": tviews[i].key, "novelty": float(result.novelty[i]),
             "nearest_trace": rviews[int(result.nearest_real[i])].key} for i in order]
