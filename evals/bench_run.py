"""The whole ``clawloop-synth run``, stage by stage: wall time and peak memory, and how they grow with the traces.

    python evals/bench_run.py                         # airline and demo, median of 3, then 5x/25x/125x once each
    python evals/bench_run.py --which demo --repeats 1 --scales 1
    python evals/bench_run.py --save-fingerprint F    # write what the runs produced (tasks, rollouts, ...) to F
    python evals/bench_run.py --fingerprint F         # and compare each 1x run's outputs with F
    python evals/bench_run.py --against REV --repeats 4 --scales 1   # this tree beside git revision REV

Each run is its own process (``--one``), started the way the command line starts, so the import time
counts: it is the ``startup`` row (process start to the first stage). The other rows are the stages
``pipeline.run_pipeline`` runs, each timed inside its ``around`` hook; ``cpu s`` is this process's CPU
time in the stage and ``workers`` that of the child processes that ended in it (the local engine's pool
of one process per CPU, sandbox workers); ``peak MiB`` is the process's
peak resident memory during that stage (Linux: ``/proc/self/clear_refs`` resets it at each stage start).
Sandbox worker processes are not in it.

Airline is the 200 tau-bench gpt-4o airline trajectories with the airline pack and database
(``--per-cluster 25``, as in the README); demo is the embedded default (``run`` with no input).
At Nx the traces are N copies: copy j > 0 has new trace and task ids and every identifier-like token
(letters and digits mixed: user, reservation, flight, patient ids) has its digits shifted by j, the same
way everywhere in the copy, so copies are different traces that still hold together.

The machine is shared: the load average is printed beside every figure, and timings are upper bounds.
Its speed also drifts within minutes (the calibration line shows by how much), so a change is measured
with ``--against REV``: the 1x runs of this tree and of a checkout of REV (a temporary git worktree)
alternate, in the order A B B A A B ..., and each stage's median of both is shown with the difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
AIRLINE_TRACES = DATASETS / "tau-bench" / "gpt-4o-airline.json"
AIRLINE_DB = DATASETS / "tau-bench" / "airline-db"
DEMO_TRACES = ROOT / "datasets" / "demo" / "traces.jsonl"
STAGES = ("startup", "ingest", "mine", "pack", "cluster", "generate", "coverage", "rollout", "difficulty",
          "curriculum", "export", "report")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def calibration_seconds() -> float:
    """Best of 3 timings of a fixed single-core workload shaped like the run's (JSON, dicts, hashing, sorting).

    The same commit ran about 1.75x slower on 2026-12-02's later machine than on its earlier one, both
    idle, so run times from different days (or the start and end of one bench) compare only beside it."""
    records = [{"id": f"t{i}", "args": {"amount": i % 97, "user": f"u{i % 311}"}, "ok": i % 3 == 0}
               for i in range(20_000)]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        text = json.dumps(records, sort_keys=True)
        back = json.loads(text)
        sorted(hashlib.blake2b(json.dumps(r).encode(), digest_size=8).digest() for r in back)
        best = min(best, time.perf_counter() - start)
    return best


# ----------------------------------------------------------------------------------------- replicate

_IDENT = re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{3,}\b")


def _shift(text: str, j: int) -> str:
    """``text`` with the digits of each identifier-like token shifted by ``j`` (mod 10)."""
    table = str.maketrans("0123456789", "".join(str((d + j) % 10) for d in range(10)))
    return _IDENT.sub(lambda m: m.group(0).translate(table), text)


def _perturb(value: Any, j: int) -> Any:
    if isinstance(value, str):
        return _shift(value, j)
    if isinstance(value, list):
        return [_perturb(v, j) for v in value]
    if isinstance(value, dict):
        return {k: _perturb(v, j) for k, v in value.items()}
    return value


def _copy(record: dict[str, Any], j: int) -> dict[str, Any]:
    if j == 0:
        return record
    out = _perturb(record, j)
    for key in ("id", "task_id"):  # tau-bench: the trace id is built from task_id and trial
        if key in out and out[key] is not None:
            out[key] = f"{record[key]}-r{j}"
    return out


def replicate(source: Path, times: int, out: Path) -> Path:
    """``times`` copies of the traces in ``source`` (a JSON list or JSON lines) written to ``out``."""
    text = source.read_text()
    if source.suffix == ".json":
        records = json.loads(text)
        out.write_text(json.dumps([_copy(r, j) for j in range(times) for r in records]))
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        with out.open("w") as handle:
            for j in range(times):
                for record in records:
                    handle.write(json.dumps(_copy(record, j)) + "\n")
    return out


# ----------------------------------------------------------------------------------------- one run


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the local engine's pool workers, sandbox workers)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _reset_peak() -> None:
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def fingerprint(workdir: Path) -> dict[str, Any]:
    """What the run produced, as hashes: each accepted task, the rollouts' outcomes, the difficulty and
    curriculum orders, and the coverage figures."""
    from clawloop_synth.store import load_records
    from clawloop_synth.types import Rollout, TaskSpec

    def digest(value: Any) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]

    tasks = {t.id: digest(t.model_dump(mode="json")) for t in load_records(workdir / "tasks", TaskSpec)}
    outcomes = sorted((r.task_id or "", r.agent, r.attempt, r.reward)
                      for r in load_records(workdir / "rollouts", Rollout))
    coverage = json.loads((workdir / "coverage.json").read_text())
    difficulty = json.loads((workdir / "difficulty.json").read_text())
    curriculum = json.loads((workdir / "curriculum.json").read_text())
    return {
        "tasks": tasks,
        "rollouts": digest(outcomes),
        "coverage": {k: round(coverage[k], 6) for k in ("precision", "recall", "density", "coverage")},
        "difficulty": digest(difficulty.get("pass_rates")),
        "curriculum": digest(curriculum.get("first")),
    }


def one(which: str, inputs: Path | None, workdir: Path, started: float) -> dict[str, Any]:
    """One whole run in this process; the stage table as a dict."""
    from clawloop_synth.cli.run_config import effective_config
    from clawloop_synth.pipeline import RunConfig, run_pipeline

    given: dict[str, Any] = {"workdir": workdir}
    if which == "airline":
        given.update(inputs=[inputs or AIRLINE_TRACES], domain="airline", db=AIRLINE_DB, per_cluster=25)
    elif inputs is not None:
        given.update(inputs=[inputs])
    effective = effective_config(given, None)
    config = RunConfig(domain=effective.domain, db=effective.db, options=effective.stages, force=True)
    if effective.inputs:
        config.inputs = list(effective.inputs)
    rows: dict[str, dict[str, float]] = {}
    first: list[float] = []

    @contextmanager
    def around(stage: str) -> Iterator[None]:
        if not first:
            first.append(time.perf_counter())
            rows["startup"] = {"seconds": first[0] - started, "cpu": time.process_time(), "peak_mib": _peak_mib()}
        _reset_peak()
        start, cpu, workers = time.perf_counter(), time.process_time(), _children_cpu()
        yield
        rows[stage] = {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                       "workers_cpu": _children_cpu() - workers, "peak_mib": _peak_mib()}

    results = run_pipeline(workdir, config, around=around)
    total = time.perf_counter() - started
    return {"rows": rows, "total": total, "accepted": results["generate"]["accepted"],
            "traces": results["ingest"]["traces"], "fingerprint": fingerprint(workdir)}


def spawn(which: str, times: int, scratch: Path, run_index: int, tree: Path = ROOT) -> dict[str, Any]:
    """One run in a new process, of the code in ``tree`` (this checkout, or a worktree of ``--against``)."""
    inputs: Path | None = None
    if times > 1:
        source = AIRLINE_TRACES if which == "airline" else DEMO_TRACES
        inputs = scratch / f"{which}-x{times}{source.suffix}"
        if not inputs.exists():
            replicate(source, times, inputs)
    workdir = scratch / f"{which}-x{times}-run{run_index}{'' if tree == ROOT else '-' + tree.parent.name}"
    cmd = [sys.executable, str(tree / "evals" / "bench_run.py"), "--one", which, "--workdir", str(workdir)]
    if inputs is not None:
        cmd += ["--inputs", str(inputs)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{which} x{times} ({tree}) failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = load()
    return result


# ----------------------------------------------------------------------------------------- tables


def stage_table(which: str, runs: list[dict[str, Any]]) -> str:
    lines = [f"{which}: {runs[0]['traces']} traces, {runs[0]['accepted']} tasks accepted; "
             f"median of {len(runs)} (load at each run's end: {'; '.join(r['load'] for r in runs)})",
             f"  {'stage':<11} {'seconds':>8} {'runs':>22} {'cpu s':>7} {'workers':>7} {'peak MiB':>9}"]
    for stage in STAGES:
        values = [r["rows"][stage]["seconds"] for r in runs if stage in r["rows"]]
        if not values:
            continue
        peak = max(r["rows"][stage]["peak_mib"] for r in runs if stage in r["rows"])
        spread = " ".join(f"{v:.2f}" for v in values)
        cpu = statistics.median(r["rows"][stage]["cpu"] for r in runs if stage in r["rows"])
        workers = statistics.median(r["rows"][stage].get("workers_cpu", 0.0) for r in runs if stage in r["rows"])
        lines.append(f"  {stage:<11} {statistics.median(values):>8.2f} {spread:>22} {cpu:>7.2f} {workers:>7.2f} "
                     f"{peak:>9.0f}")
    totals = [r["total"] for r in runs]
    lines.append(f"  {'total':<11} {statistics.median(totals):>8.2f} {' '.join(f'{v:.2f}' for v in totals):>22}")
    return "\n".join(lines)


@contextmanager
def worktree(rev: str, scratch: Path) -> Iterator[Path]:
    """A checkout of ``rev`` beside a link to ``../shared`` (where the bench finds the airline data), removed
    afterwards."""
    home = scratch / f"against-{rev.replace('/', '_')}"
    home.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        (home / "shared").symlink_to(DATASETS.parent)
    tree = home / ROOT.name
    done = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(tree), rev],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cannot check out {rev}: {done.stderr.strip()}")
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True,
                       check=False)


def against_table(which: str, rev: str, base: list[dict[str, Any]], this: list[dict[str, Any]]) -> str:
    """Each stage's median seconds for ``rev`` and this tree, and the difference."""
    lines = [f"{which}: {rev} vs this tree, {len(this)} alternating runs each "
             f"(load at each run's end, {rev}'s runs then this tree's: {'; '.join(r['load'] for r in base + this)})",
             f"  {'stage':<11} {rev[:12]:>12} {'this tree':>10} {'change':>8}"]
    def median(runs: list[dict[str, Any]], stage: str) -> float | None:
        values = [r["total"] if stage == "total" else r["rows"][stage]["seconds"] for r in runs
                  if stage == "total" or stage in r["rows"]]
        return statistics.median(values) if values else None

    for stage in (*STAGES, "total"):
        old, new = median(base, stage), median(this, stage)
        if old is None or new is None:
            continue
        lines.append(f"  {stage:<11} {old:>12.2f} {new:>10.2f} {new - old:>+8.2f}")
    return "\n".join(lines)


def compare(which: str, got: dict[str, Any], saved: dict[str, Any]) -> str:
    want = saved.get(which)
    if want is None:
        return f"{which}: no saved fingerprint"
    same_tasks = got["tasks"] == want["tasks"]
    lines = [f"{which}: accepted tasks {'identical' if same_tasks else 'DIFFER'} "
             f"({len(got['tasks'])} now, {len(want['tasks'])} saved)"]
    if not same_tasks:
        gone = sorted(set(want["tasks"]) - set(got["tasks"]))
        new = sorted(set(got["tasks"]) - set(want["tasks"]))
        changed = sorted(k for k in set(got["tasks"]) & set(want["tasks"]) if got["tasks"][k] != want["tasks"][k])
        lines.append(f"  gone {len(gone)} {gone[:5]}, new {len(new)} {new[:5]}, changed {len(changed)} {changed[:5]}")
    for key in ("rollouts", "coverage", "difficulty", "curriculum"):
        lines.append(f"  {key}: {'same' if got[key] == want[key] else f'DIFFERS: {got[key]} vs {want[key]}'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--which", default="airline,demo")
    parser.add_argument("--repeats", type=int, default=3, help="runs per data set at 1x (the median is shown)")
    parser.add_argument("--scales", default="1,5,25,125", help="trace multiples; above 1x one run each")
    parser.add_argument("--scale-repeats", type=int, default=1)
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--fingerprint", type=Path, default=None, help="compare the 1x outputs with this file")
    parser.add_argument("--save-fingerprint", type=Path, default=None)
    parser.add_argument("--against", default=None, metavar="REV",
                        help="also run git revision REV, alternating with this tree (1x only), and compare")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.inputs, args.workdir, STARTED)))
        return
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="bench_run-"))
    scratch.mkdir(parents=True, exist_ok=True)
    scales = [int(s) for s in args.scales.split(",")]
    saved = json.loads(args.fingerprint.read_text()) if args.fingerprint else {}
    prints: dict[str, Any] = {}
    scaling: dict[str, dict[int, dict[str, Any]]] = {}
    print(f"load average at start: {load()}  (2 shared cores: timings are upper bounds)", flush=True)
    print(f"calibration at start: {calibration_seconds():.3f} s for a fixed workload (compare days by it)", flush=True)
    if args.against:
        with worktree(args.against, scratch) as tree:
            for which in args.which.split(","):
                base: list[dict[str, Any]] = []
                this: list[dict[str, Any]] = []
                for i in range(args.repeats):
                    # A B B A A B ...: the machine's drift over the bench weighs on both alike
                    for side in ((tree, ROOT) if i % 2 == 0 else (ROOT, tree)):
                        (base if side == tree else this).append(spawn(which, 1, scratch, i, side))
                print(against_table(which, args.against, base, this), flush=True)
                if base[0]["fingerprint"] != this[0]["fingerprint"]:
                    print(compare(which, this[0]["fingerprint"], {which: base[0]["fingerprint"]}), flush=True)
                else:
                    print(f"{which}: the same outputs (tasks, rollouts, coverage, difficulty, curriculum)", flush=True)
        print(f"calibration at end: {calibration_seconds():.3f} s  (load {load()})", flush=True)
        return
    for which in args.which.split(","):
        for times in scales:
            repeats = args.repeats if times == 1 else args.scale_repeats
            runs = [spawn(which, times, scratch, i) for i in range(repeats)]
            print(stage_table(f"{which} x{times}", runs), flush=True)
            scaling.setdefault(which, {})[times] = runs[len(runs) // 2] | {
                "median": statistics.median(r["total"] for r in runs)}
            if times == 1:
                prints[which] = runs[0]["fingerprint"]
                if any(r["fingerprint"] != runs[0]["fingerprint"] for r in runs):
                    print(f"{which}: the {repeats} runs' outputs differ from one another", flush=True)
                if saved:
                    print(compare(which, runs[0]["fingerprint"], saved), flush=True)
    if args.save_fingerprint:
        args.save_fingerprint.write_text(json.dumps(prints, indent=1, sort_keys=True))
    if len(scales) > 1:
        print("\nscaling (seconds; per 1k traces in brackets)")
        heads = ["ingest", "mine", "cluster", "generate", "coverage", "rollout", "total"]
        print(f"  {'run':<14} {'traces':>7} " + " ".join(f"{h:>15}" for h in heads))
        for which, by_times in scaling.items():
            for times, run in by_times.items():
                n = run["traces"]
                cells = []
                for head in heads:
                    sec = run["median"] if head == "total" else run["rows"].get(head, {}).get("seconds", 0.0)
                    cells.append(f"{sec:>7.1f} ({1000 * sec / n:>5.2f})")
                print(f"  {which + ' x' + str(times):<14} {n:>7} " + " ".join(cells))
    print(f"calibration at end: {calibration_seconds():.3f} s  (load {load()})", flush=True)


STARTED = time.perf_counter()
if __name__ == "__main__":
    main()
