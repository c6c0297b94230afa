"""Offline procedural generation on the airline (or demo) clusters, gated like the generate stage.

    python evals/procedural_airline.py [--domain airline|demo] [--per-cluster 35] [--workdir DIR]

Ingests, mines and clusters the domain's traces into WORKDIR when that has not been done, then for
every cluster asks the procedural generator for ``--per-cluster`` tasks aimed at its leading code
and gates each one: ``verify`` passes every rule (re-run on the task read back from JSON), the
exemplar's mined codes include the target leaf, and no accepted task has a hashing-embedding cosine
>= 0.95 with another (text view: ``task_text``). Prints per-cluster accepted counts and reasons.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
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
    if not (workdir / "clusters" / "data").is_dir():
        run_mine(workdir, pack_tools=list(load_pack(domain, db).tools))
        run_cluster(workdir)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", default="airline", choices=sorted(SOURCES))
    parser.add_argument("--per-cluster", type=int, default=35)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write accepted tasks here as JSONL")
    args = parser.parse_args()

    from clawloop_synth.embed import make_embedder
    from clawloop_synth.generate.base import GenerationRequest, Verdict
    from clawloop_synth.generate.procedural import ProceduralGenerator, exemplar_codes, task_text
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.sim.verify import verify
    from clawloop_synth.store import load_records
    from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace

    workdir = args.workdir or Path(f"/tmp/procedural-{args.domain}")
    prepare(workdir, args.domain)
    pack = load_pack(args.domain, SOURCES[args.domain][1])
    state = pack.load_state()
    traces = list(load_records(workdir / "traces", Trace))
    failures = {f.id: f for f in load_records(workdir / "failures", Failure)}
    clusters = list(load_records(workdir / "clusters", FailureCluster))
    embedder = make_embedder("hashing")
    generator = ProceduralGenerator()
    accepted: list[TaskSpec] = []
    vectors: list[np.ndarray] = []
    rows = []
    started = time.perf_counter()
    for cluster in clusters:
        if cluster.id == "noise":
            continue
        counts: Counter[str] = Counter()
        notes: list[str] = []
        for code in cluster.codes:  # the leading code first; the next ones only if it yields nothing
            request = GenerationRequest(
                cluster=cluster, target_code=code, exemplars=[failures[i] for i in cluster.exemplar_ids],
                domain=args.domain, pack=pack, state=state, traces=traces, count=args.per_cluster,
                seed=args.seed, id_prefix=f"{args.domain}-{cluster.id}")
            for candidate in generator.propose(request, lambda task: Verdict(True)):
                if candidate.task is None:
                    counts[f"none:{candidate.reason}"] += 1
                    notes.append(f"{candidate.reason}: {candidate.detail}")
                    continue
                task = TaskSpec.model_validate_json(candidate.task.model_dump_json())  # read back
                if not verify(task).ok:
                    counts["verify"] += 1
                    continue
                if code not in exemplar_codes(task):
                    counts["untargeted"] += 1
                    continue
                vec = embedder.embed([task_text(task)])[0]
                if vectors and float(np.max(np.stack(vectors) @ vec)) >= 0.95:
                    counts["near_duplicate"] += 1
                    continue
                vectors.append(vec)
                accepted.append(task)
                counts["accepted"] += 1
            if counts["accepted"]:
                break
        rows.append((cluster, counts, notes))
    seconds = time.perf_counter() - started
    sims = np.stack(vectors) @ np.stack(vectors).T if vectors else np.zeros((0, 0))
    np.fill_diagonal(sims, 0)
    sizes = sorted(len(t.model_dump_json()) for t in accepted)
    print(f"domain {args.domain}: {len(accepted)} accepted in {seconds:.1f}s over {len(rows)} clusters; "
          f"max pairwise cosine {float(sims.max()) if sims.size else 0:.3f}; "
          f"median task JSON {sizes[len(sizes) // 2] if sizes else 0} bytes")
    for cluster, counts, notes in rows:
        line = f"  {cluster.id} {cluster.codes[0]:40s} accepted {counts['accepted']:3d}"
        rest = {k: v for k, v in counts.items() if k != "accepted"}
        print(line + (f"  other: {json.dumps(rest)}" if rest else "") + (f"  [{notes[-1][:160]}]" if notes else ""))
    print("dropped draws inside the generator:", dict(generator.stats.most_common(12)))
    if args.out:
        args.out.write_text("".join(t.model_dump_json() + "\n" for t in accepted))


if __name__ == "__main__":
    main()
