"""The ``mine`` and ``cluster`` stages over a work directory.

``mine``: WORKDIR/traces -> WORKDIR/failures + mine.json. ``cluster``: WORKDIR/failures ->
WORKDIR/clusters + cluster.json + clusters.md, with embeddings cached in WORKDIR/cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clawloop_synth.errors import InputError
from clawloop_synth.mine.failure_columns import FailureColumns
from clawloop_synth.mine.labels import Labelled
from clawloop_synth.store import require_records
from clawloop_synth.types import FailureCluster, Rollout, ToolSpec, Trace

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["build_clusters", "nothing_to_mine", "run_cluster", "run_mine"]


def nothing_to_mine(summary: dict[str, Any]) -> str | None:
    """One line when a ``mine`` summary leaves nothing for later stages to target: no trace has a
    reward (so none counts as failed), or none failed; None otherwise."""
    n = summary["traces"]
    if summary.get("rated_traces", n) == 0:
        return (f"none of the {n} traces has a reward: nothing counts as failed; give rewards with a 'reward' "
                f"(0..1) on each trace record, or a results file (--rewards FILE on ingest or run)")
    if summary["failed_traces"] == 0:
        return (f"none of the {summary.get('rated_traces', n)} rated traces failed (reward below "
                f"{summary.get('fail_below', 0.5)}): there is no failure to build tasks against")
    return None


def run_mine(workdir: Path, pack_tools: list[ToolSpec] | None = None, fail_below: float = 0.5,
             source: str = "traces", engine: Engine | None = None, processes: int = 1) -> dict[str, Any]:
    """Mine every trace in WORKDIR/SOURCE (``traces``, or ``rollouts`` from the rollout stage);
    write WORKDIR/failures and WORKDIR/mine.json (for rollouts: rollout_failures, mine_rollouts.json).

    The traces' own tools are used; ``pack_tools`` apply only when they are the traces' tools
    (``pack_applied`` in the summary), so a pack of another domain cannot invent findings. ``engine``: where
    the traces are mined (default: this process); ``processes`` > 1 mines them on that many local processes
    (same output, in the same order)."""
    from clawloop_synth.mine.context import build_context
    from clawloop_synth.mine.miner import MineStats, mine_traces
    from clawloop_synth.store import load_records, load_rows, save_records
    from clawloop_synth.workdir import Manifest, write_json

    if source not in ("traces", "rollouts"):
        raise InputError(f"unknown trace source {source!r}: traces or rollouts", field="source")
    traces_dir = workdir / source
    require_records(traces_dir, source)
    record: type[Trace] = Rollout if source == "rollouts" else Trace
    suffix = "" if source == "traces" else "_rollouts"
    started = time.perf_counter()
    ctx = build_context(load_records(traces_dir, record), pack_tools, fail_below, require_match=True)
    stats = MineStats()
    out = workdir / ("failures" if source == "traces" else "rollout_failures")
    remote = engine is not None and not engine.in_process
    rows = (load_rows(traces_dir), record) if remote or processes > 1 else None
    count = save_records(out, mine_traces(load_records(traces_dir, record), ctx, stats, engine, rows, processes),
                         columns=lambda f: {"trace_id": f.trace_id, "step": f.step, "code": f.code,
                                            "signal": f.signal})
    summary = {"stage": "mine", "source": source, **stats.summary(), "fail_below": fail_below,
               "write_tools": sorted(ctx.writes),
               "schemas_known": len(ctx.schemas), "pack_applied": ctx.pack_applied,
               "tools_from": "declared" if ctx.tools.declared else ("calls" if ctx.tools.called else "none"),
               "trace_tools": dict(ctx.tools.names().most_common()), "seconds": round(time.perf_counter() - started, 2)}
    summary["failures"] = count
    write_json(workdir / f"mine{suffix}.json", summary)
    Manifest(workdir).record(f"mine{suffix}", {"fail_below": fail_below, "pack": sorted(ctx.writes), "source": source},
                             {"failures": count, "failed_traces": stats.failed_traces})
    return summary


_GATHER_FLOATS = 1 << 23  # member vectors (32 MB of float32) scored as gathered; past it, per distinct card


def _member_scores(indices: np.ndarray, x: np.ndarray, centroid: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each member's similarity to the centroid. A big cluster's members are scored per distinct card (row
    of ``x``) and the scores read per member: gathering their vectors would take 2 KB a failure (600 MB for
    a cluster of 300,000). A smaller one's vectors are gathered and scored as every earlier run did: the
    product's rounding differs in the last bits between the two ways (it depends on a row's place in the
    matrix), which can reorder members of equal cards, so small runs keep their exemplars exactly."""
    if len(indices) * x.shape[1] <= _GATHER_FLOATS:
        return x[rows[indices]] @ centroid
    return (x @ centroid)[rows[indices]]


def _exemplars(indices: np.ndarray, x: np.ndarray, centroid: np.ndarray | None, rows: np.ndarray,
               n: int = 3) -> list[int]:
    """Members nearest the centroid, preferring distinct cards (failure i's card and vector are row
    ``rows[i]`` of ``x``)."""
    order = indices if centroid is None else indices[np.argsort(-_member_scores(indices, x, centroid, rows),
                                                                 kind="stable")]
    picked: list[int] = []
    seen: set[int] = set()
    for i in order:
        if int(rows[i]) not in seen:
            picked.append(int(i))
            seen.add(int(rows[i]))
        if len(picked) == n:
            return picked
    return picked + [int(i) for i in order if int(i) not in picked][: n - len(picked)]


def _card_counts(failures: FailureColumns, member: np.ndarray) -> dict[str, int]:
    """Distinct card -> how many of the failures where ``member`` is true carry it."""
    counts = np.bincount(failures.card[member], minlength=len(failures.cards))
    return {failures.cards[j]: int(counts[j]) for j in np.flatnonzero(counts)}


def build_clusters(failures: FailureColumns, labels: np.ndarray, x: np.ndarray,
                   centroids: np.ndarray | None,
                   namer: Callable[[Sequence[Labelled], list[str], list[str]], tuple[str, list[str]]] | None = None,
                   rows: np.ndarray | None = None) -> Iterator[FailureCluster]:
    """FailureCluster records from cluster labels, one at a time (a cluster's member ids are read when it
    is built); ``namer(members, keywords, codes)`` may replace the offline label and codes (the LLM
    labeller). Failure i's vector is ``x[rows[i]]`` (default: row ``i``; ``x`` may hold one row per
    distinct card)."""
    from clawloop_synth.mine.ctfidf import ctfidf_from_counts
    from clawloop_synth.mine.labels import cluster_codes, offline_label

    rows = np.arange(len(failures)) if rows is None else rows
    ids = sorted((int(c) for c in np.unique(labels)), key=lambda c: (c < 0, c))
    # Keywords need every cluster's words first: counted per distinct card, so no cluster's member list is
    # held beyond its own turn below.
    keywords = ctfidf_from_counts([_card_counts(failures, labels == c) for c in ids])
    for cid, words in zip(ids, keywords, strict=True):
        group = np.flatnonzero(labels == cid)
        members = failures.members(group)
        codes = cluster_codes(members)
        label = "unclustered (noise)" if cid < 0 else offline_label(members, words)
        if namer is not None and cid >= 0:
            label, codes = namer(members, words, codes)
        centroid = centroids[cid] if centroids is not None and cid >= 0 else None
        exemplars = np.array(_exemplars(group, x, centroid, rows), dtype=np.int64)
        yield FailureCluster(
            id="noise" if cid < 0 else f"c{cid:02d}", label=label, codes=codes, size=len(members),
            member_ids=failures.ids(group), exemplar_ids=failures.ids(exemplars), keywords=words)


def run_cluster(workdir: Path, k: int | None = None, embedder: str = "hashing", model: str | None = None,
                seed: int = 0, method: str = "kmeans", llm_model: str | None = None,
                llm_api_base: str | None = None, cache_dir: Path | None = None,
                engine: Engine | None = None) -> dict[str, Any]:
    """Embed the failure cards (cached; the batches not cached on ``engine``'s workers when given), cluster,
    label; write clusters, cluster.json, clusters.md."""
    from clawloop_synth.embed import CachedEmbedder, make_embedder
    from clawloop_synth.mine.cluster import cluster_vectors
    from clawloop_synth.mine.report import clusters_markdown
    from clawloop_synth.store import save_records
    from clawloop_synth.workdir import Manifest, write_json

    require_records(workdir / "failures", "failures")
    started = time.perf_counter()
    # Failures stream in once; what clustering keeps of each is three small integers (its card, code and tool).
    failures = FailureColumns.read(workdir / "failures")
    try:
        emb = make_embedder(embedder, model, cache_path=(cache_dir or workdir / "cache") / "embeddings.sqlite",
                             engine=engine)
    except ValueError as exc:
        raise InputError(str(exc), field="embedder") from None
    # Cards repeat (the same error on many traces): each distinct card is embedded and held once, and
    # weighs as many failures as carry it, so memory follows the distinct cards, not the failures.
    rows = failures.card
    x = emb.embed(failures.cards) if len(failures) else np.zeros((0, 1), dtype=np.float32)
    if method == "hdbscan":  # it clusters rows as they are: one per failure
        x, rows = x[rows], np.arange(len(failures))
    result = cluster_vectors(x, k=k, method=method, seed=seed,
                             weights=np.bincount(rows, minlength=len(x)) if method != "hdbscan" else None)
    labels = result.labels.astype(np.int32)[rows] if len(failures) else result.labels
    namer = None
    if llm_model:
        from clawloop_synth.mine.llm import llm_namer

        namer = llm_namer(llm_model, llm_api_base, cache_dir=workdir / "llm-cache")
    # Each cluster is written as it is built; what the summary and clusters.md need is kept without the
    # member ids.
    clusters: list[FailureCluster] = []

    def built() -> Iterator[FailureCluster]:
        for cluster in build_clusters(failures, labels, x, result.centroids, namer, rows=rows):
            clusters.append(cluster.model_copy(update={"member_ids": []}))
            yield cluster

    save_records(workdir / "clusters", built(), columns=lambda c: {"label": c.label, "size": c.size})
    by_id = failures.records_by_id({fid for c in clusters for fid in c.exemplar_ids})
    (workdir / "clusters.md").write_text(clusters_markdown(clusters, by_id, result))
    cached = emb if isinstance(emb, CachedEmbedder) else None
    summary = {
        "stage": "cluster", "failures": len(failures), "method": result.method, "k": result.k,
        "k_chosen_by": "given" if k else ("silhouette" if result.scores else "size"),
        "silhouette": result.silhouette, "silhouette_by_k": result.scores, "seed": seed,
        "embedder": {"backend": emb.backend, "model": emb.model,
                     "cache_hits": cached.hits if cached else 0,
                     "embedded": cached.embedded if cached else len(failures)},
        "labels": "llm" if llm_model else "c-tf-idf",
        "clusters": [{"id": c.id, "label": c.label, "size": c.size, "codes": c.codes} for c in clusters],
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(workdir / "cluster.json", summary)
    Manifest(workdir).record("cluster", {"k": k, "embedder": embedder, "model": model, "seed": seed,
                                         "method": method, "llm": llm_model}, {"clusters": len(clusters)})
    return summary
