"""Targeted tasks vs a random-sampling baseline, side by side against the same real traces.

    python evals/coverage_airline.py /tmp/ra                      # hashing embedder
    python evals/coverage_airline.py /tmp/ra --embedder both      # and the offline MiniLM
    python evals/coverage_airline.py /tmp/ra --ablation           # the view variants tried

WORKDIR is a finished ``clawloop-synth run`` (the airline run: 200 tau-bench trajectories, their
mined failures and clusters, the accepted tasks). The script builds, from the same work directory:

* ``targeted``: the accepted tasks (WORKDIR/tasks), each aimed at a failure cluster;
* ``baseline``: as many tasks built from random gold actions without cluster targeting: the
  procedural kit's base tasks (random users, reservations and request kinds, the reads the tool
  graph asks for) with no failure injected (:mod:`clawloop_synth.coverage.baseline`), saved to
  WORKDIR/coverage_baseline;

and prints, per set, precision / recall / density / coverage (k-NN balls, k=5), median novelty,
Vendi score, gap-filling (share of the set inside sparse real balls) beside the held-out real
baseline, then per-cluster coverage of the targeted set. Gap-filling depends on which real traces
are held out, so it is shown for ``--seeds`` holdouts, twice: the metric's own random holdout of
20 % of the traces, and a holdout of whole tau-bench tasks (all trials of a task held out together;
the 200 traces are 50 tasks x 4 near-identical trials, so a randomly held-out trial usually has its
siblings in the index and lands in their ball). Extra sets: ``--tasks NAME=FOLDER``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawloop_synth.coverage.baseline import baseline_tasks_for  # noqa: E402
from clawloop_synth.coverage.metrics import CoverageConfig, evaluate  # noqa: E402
from clawloop_synth.coverage.stage import cluster_coverage, real_views, write_tools  # noqa: E402
from clawloop_synth.coverage.views import FACETS, TextView, embed_views, task_view  # noqa: E402
from clawloop_synth.embed import make_embedder  # noqa: E402
from clawloop_synth.index import normalize  # noqa: E402
from clawloop_synth.store import load_records, save_records  # noqa: E402
from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace  # noqa: E402

ABLATIONS: dict[str, dict[str, float] | None] = {
    "facets (default)": FACETS,
    "facets, no failures": {"goal": 1 / 3, "calls": 1 / 6, "writes": 1 / 6},
    "goal facet only": {"goal": 1.0},
    "calls+writes only": {"calls": 0.5, "writes": 0.5},
    "failures only": {"failures": 1.0},
    "one text (4 lines)": None,  # the rendered view embedded as a single string
}


# ------------------------------------------------------------------------ gap-filling, by holdout


def random_holdout(n: int, share: float, seed: int) -> np.ndarray:
    """The metric's own holdout (same draw as ``coverage.metrics.evaluate``)."""
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(seed).choice(n, size=int(round(share * n)), replace=False)] = True
    return held


def grouped_holdout(groups: list[str], share: float, seed: int) -> np.ndarray:
    """Hold out whole groups (all trials of a task) until ``share`` of the items are out."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    held_groups: set[str] = set()
    target = int(round(share * len(groups)))
    size = Counter(groups)
    count = 0
    for i in order:
        if count >= target:
            break
        held_groups.add(names[i])
        count += size[names[i]]
    return np.array([g in held_groups for g in groups])


def _sq_dists(queries: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """float64 squared distances by differences, one query at a time: identical vectors are at
    exactly 0, as in the metric (a Gram-matrix shortcut is off by ~1e-8 and flips ties)."""
    return np.array([np.einsum("ij,ij->i", centres - q, centres - q) for q in queries]).reshape(len(queries), -1)


def dense_gap_fill(real: np.ndarray, synthetic: np.ndarray, held: np.ndarray, k: int = 5,
                   quantile: float = 0.75) -> tuple[float, float, float, float]:
    """Share of S and of the held-out reals inside a sparse ball of the kept reals (exact, dense),
    then the same shares among the points inside any kept ball (on the support)."""
    r = normalize(real).astype(np.float64)
    s = normalize(synthetic).astype(np.float64)
    kept = r[~held]
    radii2 = np.sort(_sq_dists(kept, kept), axis=1)[:, k]  # the k-th other point (self is column 0)
    sparse = radii2 > np.quantile(radii2, quantile)

    def shares(q: np.ndarray) -> tuple[float, float]:
        inside = _sq_dists(q, kept) <= radii2[None, :]
        in_sparse = inside[:, sparse].any(axis=1)
        on_support = inside.any(axis=1)
        return float(in_sparse.mean()), float(in_sparse.sum() / max(1, on_support.sum()))

    (s_gap, s_cond), (r_gap, r_cond) = shares(s), shares(r[held])
    return s_gap, r_gap, s_cond, r_cond


# ------------------------------------------------------------------------------------ the figures


def embed(views: list[TextView], emb: Any, weights: dict[str, float] | None) -> np.ndarray:
    if weights is None:
        return np.asarray(emb.embed([v.render() for v in views]), dtype=np.float32)
    return embed_views(views, emb.embed, weights)


def figures(real: np.ndarray, sets: dict[str, np.ndarray], groups: list[str], k: int,
            seeds: list[int]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, x in sets.items():
        summary = evaluate(real, x, CoverageConfig(k=k, seed=seeds[0])).summary()
        rand = [dense_gap_fill(real, x, random_holdout(len(real), 0.2, s), k) for s in seeds]
        grouped = [dense_gap_fill(real, x, grouped_holdout(groups, 0.2, s), k) for s in seeds]
        # Per holdout: (S share, held-out R share, S share | on support, R share | on support).
        summary["gap_fill_seeds"] = {"seeds": seeds, "random_holdout": rand, "task_holdout": grouped}
        out[name] = summary
    return out


def intent_agreement(real: np.ndarray, synthetic: np.ndarray, traces: list[Trace], tasks: list[TaskSpec],
                     writes: frozenset[str]) -> tuple[float, float]:
    """A check of the view that does not use the coverage metrics: the share of tasks whose nearest
    real trace's gold actions include one of the task's state-changing calls, and that share for a
    real trace drawn at random (chance)."""
    gold = [{a.name for a in t.gold_actions or [] if a.name in writes} for t in traces]
    own = [{c.name for c in t.reference.calls if c.name in writes} for t in tasks]
    nearest = np.argmax(normalize(synthetic) @ normalize(real).T, axis=1)
    hit = float(np.mean([bool(own[j] & gold[i]) for j, i in enumerate(nearest)]))
    chance = float(np.mean([[bool(o & g) for g in gold] for o in own]))
    return hit, chance


def _mean(pairs: list[tuple[float, float]], i: int) -> str:
    values = [p[i] for p in pairs]
    return f"{np.mean(values):.3f}±{np.std(values):.3f}"


def print_table(results: dict[str, dict[str, Any]]) -> None:
    n_seeds = len(next(iter(results.values()))["gap_fill_seeds"]["seeds"])
    print(f"{'':<10}{'':>5}{'':>42}{'':>14}| gap-filling S vs held-out R, mean±sd over {n_seeds} holdouts")
    print(f"{'':<10}{'':>5}{'':>42}{'seed 0':>14}| {'random 20 % of traces':^27} | {'whole tasks (~20 %)':^27}"
          f" | {'sparse | on support (random)':^27}")
    print(f"{'set':<10}{'n':>5}{'prec':>7}{'recall':>7}{'dens':>7}{'cover':>7}{'novel':>7}{'vendi':>7}"
          f"{'gap S':>7}{'gap R':>7}| {'S':^13} {'R':^13} | {'S':^13} {'R':^13} | {'S':^13} {'R':^13}")
    for name, s in results.items():
        gap = s["gap_fill"] or {}
        seeds = s["gap_fill_seeds"]
        rand, task = seeds["random_holdout"], seeds["task_holdout"]
        print(f"{name:<10}{s['n_synthetic']:>5}{s['precision']:>7.3f}{s['recall']:>7.3f}{s['density']:>7.3f}"
              f"{s['coverage']:>7.3f}{s['novelty']['median']:>7.3f}{s['vendi']['synthetic']:>7.2f}"
              f"{gap.get('synthetic_share', float('nan')):>7.3f}{gap.get('holdout_share', float('nan')):>7.3f}| "
              f"{_mean(rand, 0):^13} {_mean(rand, 1):^13} | {_mean(task, 0):^13} {_mean(task, 1):^13} | "
              f"{_mean(rand, 2):^13} {_mean(rand, 3):^13}")


def print_clusters(clusters: list[FailureCluster], tasks: list[TaskSpec], novelty: np.ndarray) -> None:
    per = cluster_coverage(clusters, tasks)
    by_cluster: dict[str | None, list[float]] = {}
    for task, nov in zip(tasks, novelty, strict=True):
        by_cluster.setdefault(task.target_cluster, []).append(float(nov))
    print(f"per-cluster coverage of the targeted set ({len(per['uncovered'])} of {len(clusters)} clusters "
          f"without tasks; {per['untargeted_tasks']} untargeted tasks)")
    for row in per["clusters"]:
        nov = by_cluster.get(row["id"])
        med = f"{np.median(nov):.3f}" if nov else "  -  "
        print(f"  {row['id']:<6}{row['size']:>5} failures {row['tasks']:>4} tasks  novelty {med}  {row['label'][:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--tasks", action="append", default=[], help="extra NAME=FOLDER TaskSpec dataset")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--embedder", default="hashing", help="hashing, sentence-transformers or both")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
    parser.add_argument("--baseline-seed", type=int, default=0)
    parser.add_argument("--ablation", action="store_true", help="also the view variants (facet weights)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work: Path = args.workdir

    traces = list(load_records(work / "traces", Trace))
    failures = list(load_records(work / "failures", Failure))
    clusters = list(load_records(work / "clusters", FailureCluster))
    targeted = list(load_records(work / "tasks", TaskSpec))
    started = time.perf_counter()
    baseline, skipped = baseline_tasks_for(work, len(targeted), seed=args.baseline_seed)
    save_records(work / "coverage_baseline", baseline)
    print(f"baseline: {len(baseline)} tasks in {time.perf_counter() - started:.1f} s "
          f"(kinds {dict(Counter(t.provenance.prompt_version for t in baseline))}; "
          f"skipped draws {dict(skipped)}); targeted kinds "
          f"{dict(Counter((t.provenance.prompt_version or '').split(':')[0] for t in targeted))}")
    task_sets = {"targeted": targeted, "baseline": baseline}
    for spec in args.tasks:
        name, _, folder = spec.partition("=")
        task_sets[name] = list(load_records(Path(folder), TaskSpec))

    writes = write_tools([t for tasks in task_sets.values() for t in tasks])
    rviews = real_views(traces, failures, writes)
    tviews = {name: [task_view(t, writes) for t in tasks] for name, tasks in task_sets.items()}
    groups = [t.task_id or t.id for t in traces]
    backends = ["hashing", "sentence-transformers"] if args.embedder == "both" else [args.embedder]
    variants = ABLATIONS if args.ablation else {"facets (default)": FACETS}
    report: dict[str, Any] = {}
    for backend in backends:
        emb = make_embedder(backend, cache_path=work / "cache" / "embeddings.sqlite")
        for variant, weights in variants.items():
            started = time.perf_counter()
            real = embed(rviews, emb, weights)
            sets = {name: embed(views, emb, weights) for name, views in tviews.items()}
            seconds = time.perf_counter() - started
            results = figures(real, sets, groups, args.k, args.seeds)
            print(f"\n== {len(traces)} real traces, k={args.k}, embedder {backend}, view: {variant} "
                  f"(embedding {seconds:.1f} s)")
            print_table(results)
            report[f"{backend} | {variant}"] = results
            agreement = {name: intent_agreement(real, sets[name], traces, task_sets[name], writes)
                         for name in sets}
            print("intent agreement (nearest real trace's gold actions share a write with the task; chance): "
                  + ", ".join(f"{name} {hit:.3f} ({chance:.3f})" for name, (hit, chance) in agreement.items()))
            for name, pair in agreement.items():
                results[name]["intent_agreement"] = {"nearest": pair[0], "chance": pair[1]}
            if variant == "facets (default)":
                nov = evaluate(real, sets["targeted"], CoverageConfig(k=args.k)).novelty
                print_clusters(clusters, targeted, nov)
    out = args.out or work / "coverage_compare.json"
    out.write_text(json.dumps(report, indent=1, default=float))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
