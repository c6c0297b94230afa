"""Task pools built from one fold's traces only: mined, clustered and generated in a sub-work-directory.

- ``targeted``: the run's own pipeline on the fold's traces (mine -> cluster -> generate, allocation by the
  clusters' failure mass), so the tasks aim at the fold's clustered failures and take its wording;
- ``random``: the same generator and gate with no targeting: one stand-in cluster per failure code the
  generator can inject, each asked for the same number of tasks, whatever the traces' failures were;
- ``gold``: the fold's real tasks (traces with gold actions) as tasks of the pack, those that verify.

A pool is built once per (fold traces, kind, size, seed) and read back after (``pool.json`` records its key),
so the questions of one work directory share their pools.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
from pathlib import Path
from typing import Any

from clawloop_synth.experiment.folds import task_key
from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace

__all__ = ["POOL_KINDS", "build_pool", "gold_pool", "mined_codes_by_trace"]

POOL_KINDS = ("targeted", "random")


def _key(traces: list[Trace], kind: str, per_cluster: int, seed: int, pack: str) -> str:
    ids = ",".join(sorted(t.id for t in traces))
    return hashlib.sha256(f"v2|{kind}|{per_cluster}|{seed}|{pack}|{ids}".encode()).hexdigest()[:16]


def _uniform_clusters(sub: Path, most: int, seed: int) -> None:
    """Stand-in clusters, one per injectable code (a seeded uniform draw of ``most`` of them when there are more),
    with no members: the generator's menu without targeting."""
    from clawloop_synth.generate.procedural.injectors import INJECTORS
    from clawloop_synth.store import save_records

    codes = sorted(INJECTORS)
    if len(codes) > most:
        codes = sorted(random.Random(f"uniform:{seed}").sample(codes, most))
    clusters = [FailureCluster(id=f"u{i:02d}", label=code, codes=[code], size=0, member_ids=[], exemplar_ids=[])
                for i, code in enumerate(codes)]
    save_records(sub / "clusters", clusters)


def build_pool(sub: Path, traces: list[Trace], kind: str, pack: str, db: Path | None, want: int,
               seed: int) -> tuple[list[TaskSpec], dict[str, Any]]:
    """The ``kind`` pool of ``traces`` in folder ``sub``, about ``want`` tasks (a margin over it is asked of the
    generator, since some draws are rejected): its tasks and a summary (counts, seconds)."""
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.mine.stage import run_cluster, run_mine
    from clawloop_synth.rollout.stage import load_tasks
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.store import load_records, save_records
    from clawloop_synth.workdir import write_json

    if kind not in POOL_KINDS:
        raise ValueError(f"unknown pool kind {kind!r}")
    key = _key(traces, kind, want, seed, pack)
    marker = sub / "pool.json"
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        cached: dict[str, Any] = json.loads(marker.read_text())
        return (load_tasks(sub) if cached["tasks"] else []), cached
    sub.mkdir(parents=True, exist_ok=True)
    for name in ("tasks", "clusters", "failures", "generate", "rejects", "manifest.json"):
        path = sub / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    save_records(sub / "traces", traces)
    mined = run_mine(sub, load_pack(pack, db).tools)
    summary: dict[str, Any] = {"key": key, "kind": kind, "traces": len(traces), "failures": mined["failures"],
                               "want": want, "seed": seed, "tasks": 0}
    if mined["failures"] == 0 and kind == "targeted":
        summary["note"] = "no failures mined in this fold: nothing to target"
        write_json(marker, summary)
        return [], summary
    if kind == "targeted":
        run_cluster(sub, seed=seed)
    else:
        _uniform_clusters(sub, max(1, math.ceil(2.0 * want)), seed)
    clusters = [c for c in load_records(sub / "clusters", FailureCluster) if c.codes]
    margin = 1.3 if kind == "targeted" else 2.0  # stand-in clusters of codes the kit cannot inject yield none
    per_cluster = max(1, math.ceil(margin * want / max(len(clusters), 1)))
    summary.update(clusters=len(clusters), per_cluster=per_cluster)
    gen = run_generate(sub, GenerateConfig(domain=pack, db=db, per_cluster=per_cluster,
                                           allocation="mass" if kind == "targeted" else "even", seed=seed))
    tasks = load_tasks(sub) if (sub / "tasks").exists() else []
    summary.update(tasks=len(tasks), rejected=gen.get("rejected"), seconds=gen.get("seconds"))
    write_json(marker, summary)
    return tasks, summary


def mined_codes_by_trace(sub: Path) -> dict[str, set[str]]:
    """The failure codes mined on each trace of a pool's folder (after :func:`build_pool`)."""
    from clawloop_synth.store import load_records

    out: dict[str, set[str]] = {}
    if (sub / "failures").exists():
        for f in load_records(sub / "failures", Failure):
            out.setdefault(f.trace_id, set()).add(f.code)
    return out


def gold_pool(traces: list[Trace], pack: str, db: Path | None) -> tuple[list[TaskSpec], dict[str, Any]]:
    """The real tasks among ``traces`` (those with gold actions) as tasks of ``pack``, kept when they verify;
    the summary counts what was dropped and why."""
    from clawloop_synth.sim.gold import gold_tasks
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.sim.verify import verify

    with_gold = [t for t in traces if t.gold_actions is not None and t.task_id]
    summary: dict[str, Any] = {"real_tasks": len({task_key(t) for t in with_gold}), "verified": 0}
    if not with_gold:
        summary["note"] = "no trace carries gold actions"
        return [], summary
    try:
        tasks = gold_tasks(with_gold, load_pack(pack, db), db)
    except (KeyError, ValueError, TypeError) as exc:  # the pack cannot hold these gold actions
        summary["note"] = f"gold tasks could not be built: {type(exc).__name__}: {exc}"[:300]
        return [], summary
    kept: list[TaskSpec] = []
    failed: dict[str, int] = {}
    for task in tasks:
        report = verify(task)
        if report.ok:
            kept.append(task)
        else:
            rule = report.failed()[0].rule
            failed[rule] = failed.get(rule, 0) + 1
    summary.update(verified=len(kept), not_verified=failed)
    return kept, summary
