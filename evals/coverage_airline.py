"""Targeted tasks vs a random-sampling baseline, side by side against the same real traces.

    python evals/coverage_airline.py WORKDIR --tasks targeted=WORKDIR/tasks --tasks baseline=BASE/tasks

WORKDIR holds the real ``traces`` and their mined ``failures`` (the airline run: 200 tau-bench
trajectories); each ``--tasks NAME=FOLDER`` is a TaskSpec dataset written with ``save_records``
(the accepted targeted tasks, and tasks built from random gold actions without cluster targeting).
Prints precision, recall, density, coverage, novelty, Vendi and gap-filling per set, and writes
them to ``--out`` (default WORKDIR/coverage_compare.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clawloop_synth.coverage.metrics import CoverageConfig  # noqa: E402
from clawloop_synth.coverage.stage import compare_task_sets, embed_views, real_views  # noqa: E402
from clawloop_synth.coverage.views import task_view  # noqa: E402
from clawloop_synth.embed import make_embedder  # noqa: E402
from clawloop_synth.store import load_records  # noqa: E402
from clawloop_synth.types import Failure, TaskSpec, Trace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--tasks", action="append", required=True, help="NAME=FOLDER of a TaskSpec dataset")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    traces = list(load_records(args.workdir / "traces", Trace))
    failures = list(load_records(args.workdir / "failures", Failure)) if (args.workdir / "failures").exists() else []
    emb = make_embedder(args.embedder, args.model, cache_path=args.workdir / "cache" / "embeddings.sqlite")
    real = embed_views(real_views(traces, failures), emb.embed)
    sets = {}
    for spec in args.tasks:
        name, _, folder = spec.partition("=")
        tasks = list(load_records(Path(folder), TaskSpec))
        sets[name] = embed_views([task_view(task) for task in tasks], emb.embed)
    results = compare_task_sets(real, sets, CoverageConfig(k=args.k))

    keys = ("n_synthetic", "precision", "recall", "density", "coverage")
    print(f"{len(traces)} real traces, k={args.k}, embedder {args.embedder}")
    print(f"{'set':<12}" + "".join(f"{key:>12}" for key in keys)
          + f"{'novelty':>10}{'vendi':>8}{'gap S':>8}{'gap R':>8}")
    for name, summary in results.items():
        gap = summary["gap_fill"] or {}
        row = "".join(f"{summary[key]:>12.3f}" if isinstance(summary[key], float) else f"{summary[key]:>12}"
                      for key in keys)
        print(f"{name:<12}{row}{summary['novelty']['median']:>10.3f}{summary['vendi']['synthetic']:>8.2f}"
              f"{gap.get('synthetic_share', float('nan')):>8.3f}{gap.get('holdout_share', float('nan')):>8.3f}")
    out = args.out or args.workdir / "coverage_compare.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
