"""The generate stage offline (procedural generator) on a domain's clusters, and its must-show checks.

    python evals/generate_offline.py [--domain airline|demo] [--per-cluster 25] [--workdir DIR] [--seed 0]

Ingests, mines and clusters the domain's traces into WORKDIR unless that was done, runs the generate
stage exactly as ``clawloop-synth generate`` does (journal, gate, datasets), then reads the accepted
tasks back from WORKDIR/tasks and checks, independently of the stage: every task passes ``verify``
again; its failure exemplar's mined codes include its target code (targeting, on 100% of them); no
two accepted tasks have a cosine >= 0.95 between their text views (hashing embedder, all pairs);
every cluster has >= 5 accepted tasks or a stated reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT / ".." / "shared" / "datasets"
SOURCES = {
    "airline": (SHARED / "tau-bench" / "gpt-4o-airline.json", SHARED / "tau-bench" / "airline-db"),
    "demo": (ROOT / "datasets" / "demo" / "traces.jsonl", None),
}


def prepare(workdir: Path, domain: str) -> None:
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster, run_mine
    from clawloop_synth.sim.pack import load_pack

    traces, db = SOURCES[domain]
    if not (workdir / "traces" / "data").is_dir():
        run_ingest([traces], workdir)
    if not (workdir / "failures" / "data").is_dir():
        run_mine(workdir, pack_tools=list(load_pack(domain, db).tools))
    if not (workdir / "clusters" / "data").is_dir():
        run_cluster(workdir, seed=0)


def main() -> None:
    from clawloop_synth.embed import make_embedder
    from clawloop_synth.generate.gate import mined_codes
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.generate.views import task_view
    from clawloop_synth.sim import verify
    from clawloop_synth.store import load_records
    from clawloop_synth.types import TaskSpec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="airline", choices=sorted(SOURCES))
    parser.add_argument("--per-cluster", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("runs/eval-generate"))
    args = parser.parse_args()
    workdir = args.workdir / args.domain
    prepare(workdir, args.domain)

    started = time.perf_counter()
    summary = run_generate(workdir, GenerateConfig(domain=args.domain, db=SOURCES[args.domain][1],
                                                   per_cluster=args.per_cluster, seed=args.seed))
    seconds = time.perf_counter() - started
    tasks = list(load_records(workdir / "tasks", TaskSpec))
    verified = sum(verify(t).ok for t in tasks)
    targeted = sum((t.target_code or "") in mined_codes(t) for t in tasks)
    x = make_embedder("hashing").embed([task_view(t) for t in tasks])
    sims = x @ x.T
    np.fill_diagonal(sims, -1.0)
    top = float(sims.max()) if len(tasks) > 1 else 0.0
    pairs = int((np.triu(sims, 1) >= 0.95).sum())
    short = [c for c in summary["clusters"] if c["accepted"] < 5]
    unexplained = [c["id"] for c in short if not c.get("reason")]

    print(f"{args.domain}: {len(summary['clusters'])} clusters, per cluster {args.per_cluster}, seed {args.seed}: "
          f"{summary['accepted']} accepted, {summary['rejected']} rejected in {seconds:.1f} s "
          f"({summary['resumed_candidates']} candidates resumed from the journal)")
    print(f"  rejected by reason: {summary['rejected_by_reason']}")
    for c in summary["clusters"]:
        print(f"  {c['id']:>6} {c['accepted']:4d}/{c['candidates']:<4d} {c['target_code']:<40} "
              f"{c.get('reason', '')[:100]}")
    print(f"read back from {workdir / 'tasks'}: {len(tasks)} tasks; verify passes on {verified}/{len(tasks)}; "
          f"targeting on {targeted}/{len(tasks)}; max pairwise cosine {top:.3f}, pairs >= 0.95: {pairs}")
    print(f"clusters with < 5 accepted: {len(short)} (without a stated reason: {len(unexplained)})")
    ok = (verified == targeted == len(tasks) and pairs == 0 and not unexplained
          and (args.domain != "airline" or len(tasks) >= 300))
    print("must-show:", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
