"""The ``generate`` stage: clusters + a domain pack -> gated tasks, resumable at any moment.

WORKDIR/clusters, failures, traces -> WORKDIR/tasks (accepted TaskSpecs), WORKDIR/rejects (every
rejected candidate with its reason), WORKDIR/generate.json (counts by reason, per cluster, usage).

Every judged candidate is appended to ``WORKDIR/generate/journal.jsonl`` (fsynced) before the run
moves on. A re-run with the same config on the same clusters reads it back: the accepted tasks
re-enter the gate's near-duplicate index in their original order, a candidate whose id is already journaled keeps its
verdict without being judged again, and clusters already finished are skipped. Generators are
deterministic for a seed (the LLM one through its answer cache), so a run killed at any moment and
started again ends with the same accepted set as an uninterrupted one, and pays for no cached answer.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clawloop_synth.errors import InputError
from clawloop_synth.generate.base import GenerationRequest, Generator
from clawloop_synth.generate.journal import Journal, Reject
from clawloop_synth.generate.run import GENERATORS, GenerateConfig, GenerateRun, Progress
from clawloop_synth.store import require_records
from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["GENERATORS", "GenerateConfig", "GenerateRun", "run_generate"]

# ------------------------------------------------------------------------------------- inputs


def _load_inputs(workdir: Path, config: GenerateConfig) -> tuple[Any, dict[str, Any], list[FailureCluster],
                                                                 dict[str, Failure], list[Trace]]:
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.store import load_records

    for name in ("clusters", "failures", "traces"):
        require_records(workdir / name, name)
    traces = list(load_records(workdir / "traces", Trace))
    policy = None
    if config.policy_from_traces:
        from clawloop_synth.sim.pack_folder import shared_policy

        policy = shared_policy(traces)
        if not policy:
            raise InputError("the traces share no system prompt to take the policy from",
                             file=str(workdir / "traces"), field="policy_from_traces")
    pack = load_pack(config.domain, config.db, policy=policy)
    state = pack.load_state(config.db)
    clusters = list(load_records(workdir / "clusters", FailureCluster))
    if config.clusters:
        unknown = sorted(set(config.clusters) - {c.id for c in clusters})
        if unknown:
            raise InputError(f"unknown cluster id(s): {', '.join(unknown)}", field="clusters")
        clusters = [c for c in clusters if c.id in config.clusters]
    failures = {f.id: f for f in load_records(workdir / "failures", Failure)}
    return pack, state, clusters, failures, traces


def build_requests(config: GenerateConfig, pack: Any, state: dict[str, Any], clusters: list[FailureCluster],
                   failures: dict[str, Failure], traces: list[Trace]) -> list[GenerationRequest]:
    """One request per cluster: its most common code is the target, exemplars first among members; each
    cluster's wanted count from :func:`~clawloop_synth.generate.allocate.allocate`."""
    from clawloop_synth.generate.allocate import allocate, cluster_mass, default_floor

    clusters = [c for c in clusters if c.codes]
    floor = default_floor(config.per_cluster) if config.floor is None else config.floor
    wanted = allocate({c.id: cluster_mass(c, failures) for c in clusters}, config.per_cluster, floor,
                      config.allocation)
    out = []
    for cluster in clusters:
        ordered = list(dict.fromkeys([*cluster.exemplar_ids, *cluster.member_ids]))
        members = [failures[i] for i in ordered if i in failures]
        out.append(GenerationRequest(
            cluster=cluster, target_code=cluster.codes[0], exemplars=members, domain=pack.name, pack=pack,
            state=state, traces=traces, count=wanted[cluster.id] * config.attempts, seed=config.seed,
            id_prefix=f"{pack.name}-{cluster.id}-", wanted=wanted[cluster.id]))
    return out


# ----------------------------------------------------------------------------------- the run


def _run_sync(run: GenerateRun, generator: Generator) -> None:
    for request in run.requests:
        cid = request.cluster.id
        if run.finished(request):
            continue
        proposed = 0
        for index, candidate in enumerate(generator.propose(request, run.judge_of(request))):
            run.handle(request, index, candidate)
            proposed = index + 1
            if run.remaining(request) == 0 or proposed >= request.count:
                break
        run.journal.finish_cluster(cid, {"wanted": run.wanted(request), "proposed": proposed,
                                         "exhausted": run.remaining(request) > 0})


def _cluster_summary(run: GenerateRun, request: GenerationRequest, notes: dict[str, str]) -> dict[str, Any]:
    cid = request.cluster.id
    entries = [e for e in run.journal.entries.values() if e.cluster == cid]
    accepted = sum(e.accepted for e in entries)
    reasons = Counter(e.reason for e in entries if not e.accepted)
    out: dict[str, Any] = {"id": cid, "label": request.cluster.label, "target_code": request.target_code,
                           "wanted": run.wanted(request), "accepted": accepted, "candidates": len(entries),
                           "rejected_by_reason": dict(reasons)}
    if accepted < min(run.config.min_per_cluster, run.wanted(request)):
        if cid in notes:
            out["reason"] = notes[cid]
        elif not entries:
            out["reason"] = "the generator proposed no candidate for this cluster"
        else:
            top = ", ".join(f"{r} x{n}" for r, n in reasons.most_common(3))
            example = next((e.detail for e in entries if not e.accepted and e.detail), "")
            out["reason"] = f"{len(entries)} candidate(s), {accepted} accepted; rejects: {top}; e.g. {example[:300]}"
    return out


def _consolidate(workdir: Path, journal: Journal) -> tuple[int, int]:
    from clawloop_synth.store import save_records

    def accepted() -> Any:
        for entry in journal.accepted():
            yield TaskSpec.model_validate(entry.task)

    def rejects() -> Any:
        for key in journal.order:
            entry = journal.entries[key]
            if not entry.accepted:
                task = TaskSpec.model_validate(entry.task) if entry.task else None
                yield Reject(id=entry.id, cluster=entry.cluster, reason=entry.reason, detail=entry.detail,
                             codes=entry.codes, task=task)

    n_tasks = save_records(workdir / "tasks", accepted(),
                           columns=lambda t: {"cluster": t.target_cluster, "target_code": t.target_code,
                                              "generator": t.provenance.generator},
                           column_types={"cluster": str, "target_code": str, "generator": str})
    n_rejects = save_records(workdir / "rejects", rejects(),
                             columns=lambda r: {"cluster": r.cluster, "reason": r.reason},
                             column_types={"cluster": str, "reason": str})
    return n_tasks, n_rejects


def run_generate(workdir: Path, config: GenerateConfig, progress: Progress | None = None,
                 generator: Generator | None = None, llm: Any = None, engine: Engine | None = None,
                 fresh: bool = False) -> dict[str, Any]:
    """Generate, gate and save tasks for every cluster; returns the ``generate.json`` summary.

    The journal resumes a run of the same config on the same clusters; ``fresh`` starts it afresh.

    ``generator`` overrides ``config.generator`` (tests, custom generators; ``llm`` is then the seam
    it calls, for the usage figures). ``engine``: where the gate's checks run (default: this process;
    the accepted set is the same, :mod:`.on_engine`). With ``config.dry_run``
    nothing is generated: the summary holds the LLM cost estimate of the first attempts.
    """
    from clawloop_synth.embed import BACKENDS, make_embedder
    from clawloop_synth.generate.gate import Gate
    from clawloop_synth.workdir import Manifest, config_hash, write_json

    if config.generator not in GENERATORS and generator is None:
        raise InputError(f"unknown generator '{config.generator}' (known: {', '.join(GENERATORS)})",
                         field="generator")
    if config.per_cluster < 1:
        raise InputError("--per-cluster must be at least 1", field="per_cluster")
    from clawloop_synth.generate.allocate import ALLOCATIONS

    if config.allocation not in ALLOCATIONS:
        raise InputError(f"unknown allocation '{config.allocation}' (known: {', '.join(ALLOCATIONS)})",
                         field="allocation")
    started = time.perf_counter()
    pack, state, clusters, failures, traces = _load_inputs(workdir, config)
    requests = build_requests(config, pack, state, clusters, failures, traces)
    if generator is None:
        from clawloop_synth.generate.registry import make_generator

        generator, llm = make_generator(config, workdir)
    if config.dry_run:
        if llm is None or not hasattr(generator, "estimate"):
            return {"stage": "generate", "dry_run": True, "generator": generator.name,
                    "note": "this generator calls no model: nothing to estimate", "requests": 0, "cost": 0.0}
        estimate = generator.estimate(requests, config.per_cluster)  # type: ignore[union-attr]
        return {"stage": "generate", "dry_run": True, "generator": generator.name, **estimate}

    # the clusters are in the hash: a journal of other clusters (a re-run on new traces) must not resume
    resumable = config_hash([config.hashed(), [c.model_dump(mode="json") for c in clusters]])
    journal = Journal(workdir / "generate" / "journal.jsonl", resumable, fresh)
    cache = None if config.embedder == "hashing" else workdir / "cache" / "embeddings.sqlite"
    if config.embedder not in BACKENDS:
        raise InputError(f"unknown embedder '{config.embedder}' (known: {', '.join(BACKENDS)})", field="embedder")
    gate = Gate(lambda: make_embedder(config.embedder, cache_path=cache), config.threshold)
    for entry in journal.accepted():  # the resumed run's gate sees the accepted set in its original order
        gate.add(TaskSpec.model_validate(entry.task))
    run = GenerateRun(workdir, config, journal, gate, requests, progress,
                      usage=(lambda: llm.total.cost) if llm is not None else (lambda: 0.0))
    stopped: str | None = None
    notes: dict[str, str] = {}
    pending: list[str] = []
    try:
        if engine is not None and not engine.in_process:
            from clawloop_synth.generate.on_engine import run_on_engine

            stopped = run_on_engine(run, generator, engine, llm, config, fallback=_run_sync)
        elif engine is not None and engine.workers() > 1 and getattr(generator, "proposes_alone", False):
            from clawloop_synth.generate.on_engine import run_proposers

            run_proposers(run, generator, engine)  # clusters on the local engine's processes, same output
        elif hasattr(generator, "run_async"):
            stopped = generator.run_async(run)
        else:
            _run_sync(run, generator)
        notes = dict(getattr(generator, "notes", {}) or {})
        pending = sorted(getattr(generator, "pending", ()) or ())
    finally:
        journal.close()
    n_tasks, n_rejects = _consolidate(workdir, journal)
    reasons = Counter(e.reason for e in journal.entries.values() if not e.accepted)
    summary: dict[str, Any] = {
        "stage": "generate", "generator": generator.name, "domain": pack.name, "pack": str(config.domain),
        "seed": config.seed,
        "per_cluster": config.per_cluster, "wanted": sum(run.wanted(r) for r in requests), "accepted": n_tasks,
        "rejected": n_rejects,
        "rejected_by_reason": dict(reasons.most_common()), "resumed_candidates": journal.resumed,
        "stopped": stopped, "clusters": [_cluster_summary(run, r, notes) for r in requests],
        # clusters whose requests failed for transport reasons: not done, a re-run asks again
        "pending_clusters": pending,
        "usage": llm.usage_summary() if llm is not None else None,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k != "api_key"},
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(workdir / "generate.json", summary)
    Manifest(workdir).record("generate", {**config.hashed(), "per_cluster": config.per_cluster},
                             {"tasks": n_tasks, "rejects": n_rejects})
    return summary
