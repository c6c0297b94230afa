"""Ingest + mine + cluster at scale: per-stage time, peak memory, and cost per trace as the input grows.

Inputs are written to a temporary folder before anything is timed:

- ``demo``: the embedded demo traces (``datasets/demo/traces.jsonl``, about 7 KB each) replicated to
  each size;
- ``airline``: the tau-bench airline trajectories (``../shared/datasets/tau-bench/gpt-4o-airline.json``,
  about 16 KB each as chat JSONL) replicated to each size.

Every copy gets a new trace id and task id (copy ``r`` of task ``T`` is task ``T~r``: tasks grow with
the traffic, as in a deployment) and perturbed entities: every digit in every string shifts by ``r``,
so ids, dates and amounts differ between copies and no two copies are byte-identical.

Each size runs in a fresh subprocess so its peak memory (RSS of the driver, sampled every 50 ms
per stage) is its own; the hashing embedder clusters the failures. Printed per size: seconds and peak
MiB per stage, the cost per trace (wall-clock and CPU), and its ratio to the smallest size's.

    python evals/bench_scale.py [--demo 10000 250000 1000000] [--airline 200000] [--processes 2]

Targets (issue 18): 1,000,000 demo traces in under 10 minutes with peak memory under 4 GiB; 200,000
airline traces in under 15 minutes; the cost per trace at the largest size within 1.5x of that at
10,000; peak memory at 1,000,000 within 25% of that at 250,000. On a shared machine the times are
upper bounds: the load average is printed with each line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo" / "traces.jsonl"
AIRLINE = ROOT / ".." / "shared" / "datasets" / "tau-bench" / "gpt-4o-airline.json"
_SHIFT = [str.maketrans("0123456789", "".join(str((d + r) % 10) for d in range(10))) for r in range(10)]


def _originals(kind: str) -> list[dict[str, Any]]:
    if kind == "demo":
        return [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    return [{"id": f"tau-{r['task_id']}-{r['trial']}", "task_id": str(r["task_id"]), "messages": r["traj"],
             "reward": r["reward"]} for r in json.loads(AIRLINE.read_text())]


def _perturb(value: Any, table: dict[int, int]) -> Any:
    if isinstance(value, str):
        return value.translate(table)
    if isinstance(value, list):
        return [_perturb(v, table) for v in value]
    if isinstance(value, dict):
        return {k: _perturb(v, table) for k, v in value.items()}
    return value


def write_input(kind: str, size: int, path: Path) -> int:
    """``size`` replicated traces of ``kind`` as chat JSONL at ``path``; returns the bytes written."""
    originals = _originals(kind)
    # The perturbed messages of one shift are the same for every copy with that shift: encoded once.
    encoded: dict[tuple[int, int], str] = {}
    with path.open("w") as out:
        for i in range(size):
            copy, which = divmod(i, len(originals))
            key = (which, copy % 10)
            if key not in encoded:
                record = originals[which]
                encoded[key] = json.dumps(_perturb(record["messages"], _SHIFT[copy % 10]))
            record = originals[which]
            head = {**{k: v for k, v in record.items() if k != "messages"}, "id": f"{record['id']}~{copy}",
                    "task_id": f"{record.get('task_id')}~{copy}"}
            out.write(json.dumps(head)[:-1] + ', "messages": ' + encoded[key] + "}\n")
    return path.stat().st_size


class _Peak:
    """Samples this process's RSS every 50 ms; ``take()`` returns the peak since the last take."""

    def __init__(self) -> None:
        self.peak = 0
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())

    def take(self) -> float:
        peak, self.peak = max(self.peak, self._rss()), self._rss()
        return peak / 2**20


def child(path: str, workdir: str, processes: int = 1) -> None:
    """Runs in the subprocess: the three stages on ``path``; prints their figures as JSON."""
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster, run_mine

    peak = _Peak()
    work = Path(workdir)
    stage_now = ["ingest"]
    begun, cpu_begun = time.perf_counter(), _cpu()

    def heartbeat() -> None:  # a run of an hour or more shows how far it got
        while True:
            time.sleep(300)
            print(f"  [{Path(path).name}] {time.perf_counter() - begun:7.0f} s, {_cpu() - cpu_begun:7.0f} "
                  f"CPU-s, in {stage_now[0]}, RSS {peak._rss() / 2**20:5.0f} MiB; load {_load()}", file=sys.stderr,
                  flush=True)

    threading.Thread(target=heartbeat, daemon=True).start()
    stages: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("ingest", lambda: run_ingest([Path(path)], work, on_error="skip")),
        ("mine", lambda: run_mine(work, processes=processes)),
        ("cluster", lambda: run_cluster(work)),
    ]
    peak.take()
    out: dict[str, Any] = {}
    for name, stage in stages:
        stage_now[0] = name
        started, cpu = time.perf_counter(), _cpu()
        summary = stage()
        out[name] = {"seconds": time.perf_counter() - started, "cpu": _cpu() - cpu,
                     "peak_mib": peak.take()}
        print(f"  [{Path(path).name}] {name} done: {out[name]['seconds']:.1f} s, {out[name]['cpu']:.1f} CPU-s, peak "
              f"{out[name]['peak_mib']:.0f} MiB; load {_load()}", file=sys.stderr, flush=True)
        if name == "ingest":
            out["skipped"] = summary["skipped"]
        if name == "mine":
            out["failures"] = summary["failures"]
        if name == "cluster":
            out["clusters"] = len(summary["clusters"])
            out["embedded"] = summary["embedder"]["embedded"]
    print(json.dumps(out))


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (mine's worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def measure(kind: str, size: int, folder: Path, processes: int = 1) -> dict[str, Any]:
    path = folder / f"{kind}-{size}.jsonl"
    megabytes = write_input(kind, size, path) / 1e6
    work = folder / f"work-{kind}-{size}"
    # The child's stderr (its per-stage lines and heartbeat, or a traceback) goes straight to ours.
    done = subprocess.run([sys.executable, __file__, "--child", str(path), str(work),
                           "--processes", str(processes)], stdout=subprocess.PIPE,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    path.unlink()
    subprocess.run(["rm", "-rf", str(work)], check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {size}: the child failed (its stderr is above)")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {"megabytes": megabytes, **figures}


def _rows(kind: str, sizes: list[int], folder: Path, processes: int) -> Iterator[dict[str, Any]]:
    base: float | None = None
    for size in sizes:
        f = measure(kind, size, folder, processes)
        total = sum(f[s]["seconds"] for s in ("ingest", "mine", "cluster"))
        cpu = sum(f[s]["cpu"] for s in ("ingest", "mine", "cluster"))
        peak = max(f[s]["peak_mib"] for s in ("ingest", "mine", "cluster"))
        cost = total / size * 1e6
        base = base or cost
        stages = ", ".join(f"{s} {f[s]['seconds']:6.1f} s ({f[s]['cpu']:6.1f} CPU-s) / {f[s]['peak_mib']:5.0f} MiB"
                           for s in ("ingest", "mine", "cluster"))
        print(f"{kind:>7} {size:>8} traces ({f['megabytes']:6.0f} MB): {stages}; total {total:7.1f} s, peak "
              f"{peak:5.0f} MiB, {cost:6.0f} us/trace ({cpu / size * 1e6:5.0f} CPU-us) ({cost / base:4.2f}x the "
              f"smallest size), {f['skipped']} records skipped, {f['failures']} failures in {f['clusters']} "
              f"clusters ({f['embedded']} cards embedded); load {_load()}", flush=True)
        yield {"kind": kind, "size": size, "total": total, "peak": peak, "cost": cost, "cpu": cpu / size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=int, nargs="*", default=[10_000, 250_000, 1_000_000])
    parser.add_argument("--airline", type=int, nargs="*", default=[10_000, 200_000])
    parser.add_argument("--tmp", type=Path, default=None, help="where inputs and work directories go")
    parser.add_argument("--processes", type=int, default=1, help="mine on this many local processes")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "WORKDIR"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, processes=args.processes)
        return
    if args.tmp:
        args.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        print(f"mine on {args.processes} process(es); {os.cpu_count()} CPUs; load {_load()}", flush=True)
        results = [*_rows("demo", sorted(args.demo), Path(tmp), args.processes),
                   *_rows("airline", sorted(args.airline), Path(tmp), args.processes)]
    by = {(r["kind"], r["size"]): r for r in results}
    for kind in ("demo", "airline"):
        sizes = sorted(size for k, size in by if k == kind)
        if len(sizes) > 1:
            small, large = by[(kind, sizes[0])], by[(kind, sizes[-1])]
            print(f"{kind}: cost per trace at {sizes[-1]} is {large['cost'] / small['cost']:.2f}x that at "
                  f"{sizes[0]} ({large['cpu'] / small['cpu']:.2f}x in CPU time; target <= 1.5x); peak memory "
                  f"{large['peak'] / small['peak'] - 1:+.0%}")
    if ("demo", 250_000) in by and ("demo", 1_000_000) in by:
        growth = by[("demo", 1_000_000)]["peak"] / by[("demo", 250_000)]["peak"] - 1
        print(f"demo peak memory 250,000 -> 1,000,000 traces: {growth:+.1%} (target <= +25%)")


if __name__ == "__main__":
    main()
