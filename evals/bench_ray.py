"""Ingest + mine + embed on the ray engine (a local cluster) against the local engine, in the same script.

The input is the tau-bench airline trajectories replicated to ``--traces`` traces, each copy with new ids
(trial and task id shifted per copy) and perturbed entities (the digits of every token that mixes letters and
digits mapped through a per-copy permutation: user ids, reservation codes, flight numbers), written
as tau-bench JSON files of ``--per-file`` trajectories (the shards ingest splits on).

Each (engine, size) runs in a fresh subprocess, so the driver's peak RSS is its own; the ray child starts
its local cluster first (start-up reported apart, not in the throughput). Figures: traces/s of the three
steps together and of each, the overhead ratio (ray time / local time) at ``--overhead-at`` traces, the
driver's peak memory, and whether both engines wrote the same failures.

    python evals/bench_ray.py [--traces 200000] [--overhead-at 1000] [--per-file 1000] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / ".." / "shared" / "datasets" / "tau-bench" / "gpt-4o-airline.json"
DIGITS = "0123456789"


# An entity: a token of letters and digits together (user ids, reservation codes, flight numbers).
ENTITY = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*\d)\w+\b")


def _perturb(value: Any, table: dict[int, int]) -> Any:
    if isinstance(value, str):
        return ENTITY.sub(lambda m: m.group(0).translate(table), value)
    if isinstance(value, list):
        return [_perturb(v, table) for v in value]
    if isinstance(value, dict):
        return {k: _perturb(v, table) for k, v in value.items()}
    return value


def write_inputs(folder: Path, size: int, per_file: int) -> Path:
    """``size`` replicated trajectories under ``folder`` in files of ``per_file``."""
    records = json.loads(SOURCE.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    written, part = 0, 0
    while written < size:
        with (folder / f"part-{part:05d}.json").open("w") as out:
            out.write("[")
            for k in range(min(per_file, size - written)):
                i = written + k
                copy, base = divmod(i, len(records))
                record = records[base]
                if copy:
                    digits = list(DIGITS)
                    random.Random(copy).shuffle(digits)
                    record = _perturb(record, str.maketrans(DIGITS, "".join(digits)))
                record = dict(record, trial=copy * 100 + int(record.get("trial") or 0),
                              task_id=int(record["task_id"]) + 1000 * copy)
                out.write(("," if k else "") + json.dumps(record))
            out.write("]")
        written += min(per_file, size - written)
        part += 1
    return folder


def child(engine_name: str, inputs: Path, workdir: Path, workers: int | None) -> dict[str, Any]:
    """One run of ingest, mine and embed; prints its figures as JSON."""
    sys.path.insert(0, str(REPO))
    from clawloop_synth.embed import make_embedder
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_mine
    from clawloop_synth.store import load_records
    from clawloop_synth.types import Failure

    started = time.perf_counter()
    engine = _start(engine_name, workers)
    startup = time.perf_counter() - started
    figures: dict[str, Any] = {"engine": engine_name, "workers": engine.workers(), "startup_s": round(startup, 2)}
    marks = [_clock()]

    def mark(step: str) -> None:
        marks.append(_clock())
        (wall0, cpu0, tree0), (wall1, cpu1, tree1) = marks[-2], marks[-1]
        figures[f"{step}_s"] = round(wall1 - wall0, 2)
        figures[f"{step}_cpu"] = round(cpu1 - cpu0, 2)  # the driver's CPU seconds
        figures[f"{step}_cluster_cpu"] = round(tree1 - tree0, 2)  # its child processes' (Ray's workers)
        # The driver's peak so far: which step raised it.
        figures[f"{step}_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(f"[{engine_name}] {step}: {wall1 - wall0:.1f} s wall, {cpu1 - cpu0:.1f} s driver CPU, "
              f"{tree1 - tree0:.1f} s worker CPU; driver peak {figures[f'{step}_peak_mb']:.0f} MB; "
              f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    done = [0]

    def tick() -> None:
        # Progress every 10,000 traces, so that a run stopped early still gives a rate.
        done[0] += 1
        if done[0] % 10_000 == 0:
            wall, cpu, tree = _clock()
            print(f"[{engine_name}] ingest: {done[0]:,} traces after {wall - marks[0][0]:.0f} s wall, "
                  f"{cpu - marks[0][1]:.0f} s driver CPU, {tree - marks[0][2]:.0f} s worker CPU; "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    try:
        ingest = run_ingest([inputs], workdir, engine=engine, progress=tick)
        mark("ingest")
        mine = run_mine(workdir, engine=engine)
        mark("mine")
        cards = [f.card for f in load_records(workdir / "failures", Failure)]
        vectors = make_embedder("hashing", engine=engine).embed(cards)
        mark("embed")
    finally:
        engine.close()
    figures.update(traces=ingest["traces"], failures=mine["failures"], embedded=int(vectors.shape[0]),
                   vectors_sum=float(abs(vectors).sum()),
                   peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    for key in ("s", "cpu", "cluster_cpu"):
        figures[f"total_{key}"] = round(sum(figures[f"{step}_{key}"] for step in ("ingest", "mine", "embed")), 2)
    return figures


def _descendants_cpu() -> float:
    """CPU seconds used so far by this process's living descendants (the Ray instance and its workers),
    read from /proc (0 where there is none)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        parent[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    mine, total = {os.getpid()}, 0.0
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                total += used[pid]
                grew = True
    return total


def _clock() -> tuple[float, float, float]:
    return time.perf_counter(), time.process_time(), _descendants_cpu()


def _start(engine_name: str, workers: int | None, attempts: int = 8) -> Any:
    """The engine; Ray's local start-up waits a fixed 30 s for its raylet, which a machine at load 15+ can
    miss, so it is tried again (a start-up failure is not a figure of the bench)."""
    from clawloop_synth.engine import make_engine

    if engine_name != "ray":
        return make_engine("local")
    for attempt in range(attempts):
        try:
            return make_engine("ray", workers=workers)
        except Exception as exc:  # Ray raises a bare Exception for the start-up timeout
            if "timed out during startup" not in str(exc) or attempt == attempts - 1:
                raise
            import ray

            ray.shutdown()
            print(f"ray start-up timed out (load {os.getloadavg()[0]:.1f}); trying again", file=sys.stderr)
    raise AssertionError("unreachable")


def run_child(engine: str, inputs: Path, workdir: Path, workers: int | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", engine, "--inputs", str(inputs), "--workdir", str(workdir)]
    if workers:
        command += ["--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
               RAY_AUTH_MODE="disabled")
    # The child's stderr (its per-step progress, and any error) passes through as it comes.
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} child failed (exit {done.returncode}; its error is above)")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _same_failures(a: Path, b: Path) -> bool:
    sys.path.insert(0, str(REPO))
    from tests.engine.compare import differences

    return differences(a, b, only=("failures", "traces")) == []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=int, default=200_000)
    parser.add_argument("--overhead-at", type=int, default=1_000)
    parser.add_argument("--per-file", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=None, help="ray: tasks at once (default: one per CPU)")
    parser.add_argument("--engines", default="local,ray", help="at --traces: the engines to run (both at "
                        "--overhead-at); one alone gives its throughput without the comparison")
    parser.add_argument("--child", choices=["local", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.inputs, args.workdir, args.workers)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        root = Path(tmp)
        print(f"load average before: {os.getloadavg()[0]:.2f} (cpus: {os.cpu_count()})")
        for size in dict.fromkeys([args.overhead_at, args.traces]):
            inputs = write_inputs(root / f"in-{size}", size, args.per_file)
            engines = ("local", "ray") if size == args.overhead_at else tuple(args.engines.split(","))
            results = {engine: run_child(engine, inputs, root / f"{engine}-{size}", args.workers)
                       for engine in engines}
            if len(results) < 2:
                row = next(iter(results.values()))
                print(f"\n{size} traces, {row['engine']} alone; load average {os.getloadavg()[0]:.2f}: {row}")
                continue
            same = _same_failures(root / f"local-{size}", root / f"ray-{size}")
            local, ray = results["local"], results["ray"]
            print(f"\n{size} traces ({local['failures']} failures, {local['embedded']} cards embedded); "
                  f"load average {os.getloadavg()[0]:.2f}; same traces and failures: {same}")
            print(f"{'engine':<7} {'workers':>7} {'start s':>8} {'ingest s':>9} {'mine s':>8} {'embed s':>8} "
                  f"{'total s':>8} {'traces/s':>9} {'driver CPU s':>13} {'worker CPU s':>13} {'driver MB':>10}")
            for row in (local, ray):
                rate = row["traces"] / row["total_s"] if row["total_s"] else float("nan")
                print(f"{row['engine']:<7} {row['workers']:>7} {row['startup_s']:>8} {row['ingest_s']:>9} "
                      f"{row['mine_s']:>8} {row['embed_s']:>8} {row['total_s']:>8} {rate:>9.0f} "
                      f"{row['total_cpu']:>13} {row['total_cluster_cpu']:>13} {row['peak_rss_mb']:>10}")
            print(f"overhead ratio (ray time / local time) at {size}: {ray['total_s'] / local['total_s']:.2f}")
            for name in (f"in-{size}", f"local-{size}", f"ray-{size}"):
                subprocess.run(["rm", "-rf", str(root / name)], check=False)


if __name__ == "__main__":
    main()
