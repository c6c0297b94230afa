"""Ingest throughput and peak memory on the airline trajectories replicated to 20,000 and 40,000 traces,
and on coding-agent trajectories of 1 MB a line.

Each configuration (form x size) runs in a fresh subprocess so its peak RSS is its own. Beside it, a
plain implementation (json.load of the whole file, a pydantic model per trace,
``Dataset.from_generator``) runs on the same files as the baseline.

The 1 MB lines are mini-swe-agent trajectories (30 shell commands, each with a ~33 KB observation),
made up here from a small vocabulary so that no dataset's text is needed.

    python evals/bench_ingest.py [--sizes 20000 40000] [--baseline-size 20000] [--mb-lines 100 200]

Wall-clock figures need a quiet machine; each line also gives the load average and the figures per
CPU-second of the child (with the start-up, and of the reading alone), which contention on a loaded
machine distorts far less.

Targets: >= 3,000 traces/s on one core for both forms (issue 2); for JSONL, the peak memory at 40,000
within 25% of that at 20,000; files of 1 MB lines at >= 30 MB/s on one core, the peak memory at 200
lines within 25% of that at 100 (issue 11).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "tau-bench" / "gpt-4o-airline.json"


def write_inputs(folder: Path, size: int) -> dict[str, Path]:
    records = json.loads(SOURCE.read_text())
    jsonl, tau = folder / f"chat-{size}.jsonl", folder / f"tau-{size}.json"
    with jsonl.open("w") as chat, tau.open("w") as lst:
        lst.write("[")
        for i in range(size):
            record = dict(records[i % len(records)], trial=i)
            chat.write(json.dumps({"id": f"t{i}", "messages": record["traj"], "reward": record["reward"],
                                   "metadata": {"task_id": record["task_id"]}}) + "\n")
            lst.write(("," if i else "") + json.dumps(record))
        lst.write("]")
    return {"jsonl": jsonl, "tau-list": tau}


_WORDS = ["the", "of", "and", "file", "error", "test", "import", "def", "class", "return", "value", "self",
          "none", "true", "false", "assert", "path", "os", "sys", "line", "raise", "except", "for", "while",
          "in", "not", "is", "with", "as", "from", "print", "len", "str", "int", "dict", "list"]


def mini_trajectory(i: int, rng: random.Random) -> dict[str, Any]:
    """One mini-swe-agent trajectory of about 1 MB."""
    messages = [{"role": "system", "content": "You are a helpful assistant that can interact with a computer."},
                {"role": "user", "content": f"<pr_description>Fix issue {i}</pr_description>"}]
    for k in range(30):
        output = " ".join(rng.choice(_WORDS) for _ in range(6_600))
        messages.append({"role": "assistant", "content": f"THOUGHT: step {k}.\n\n```bash\ngrep -rn x src/m{k}.py\n```",
                         "extra": {"response": {"id": f"r{i}-{k}"}}})
        messages.append({"role": "user", "content": f"<returncode>{k % 3}</returncode>\n<output>\n{output}\n</output>"})
    return {"info": {"exit_status": "Submitted", "submission": "diff --git a/x b/x\n"}, "messages": messages,
            "trajectory_format": "mini-swe-agent-1", "instance_id": f"repo__issue-{i}"}


def write_mb_lines(folder: Path, lines: int) -> Path:
    path = folder / f"mini-{lines}.jsonl"
    rng = random.Random(0)
    with path.open("w") as handle:
        for i in range(lines):
            handle.write(json.dumps(mini_trajectory(i, rng)) + "\n")
    return path


def child(mode: str, path: str, out: str) -> None:
    """Runs in the subprocess: ingest ``path`` and print seconds, traces and peak RSS as JSON."""
    started = time.perf_counter()
    # The interpreter's own start is before ``started``; CPU seconds are counted from the same point.
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    # The libraries either side loads, imported up front so that ``work`` is the reading alone
    # (``seconds``, the figure of the traces/s lines, includes them).
    import jsonschema  # noqa: F401

    import datasets  # noqa: F401
    from clawloop_synth.ingest.stage import run_ingest

    ready = time.perf_counter()
    ready_usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_ready = ready_usage.ru_utime + ready_usage.ru_stime
    traces = run_ingest([Path(path)], Path(out))["traces"] if mode == "ours" else plain_ingest(Path(path), Path(out))
    done = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    print(json.dumps({"seconds": done - started, "work": done - ready, "traces": traces, "peak_mib": peak,
                      "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
                      "cpu_work": usage.ru_utime + usage.ru_stime - cpu_ready}))


def plain_ingest(path: Path, out: Path) -> int:
    from clawloop_synth.types import Message, ToolCall, Trace
    from datasets import Dataset

    text = path.read_text()
    records = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines()]

    def rows():  # type: ignore[no-untyped-def]
        for i, record in enumerate(records):
            messages = []
            for m in record.get("traj") or record["messages"]:
                calls = [ToolCall(id=c["id"], name=c["function"]["name"],
                                  arguments=json.loads(c["function"]["arguments"])) for c in m.get("tool_calls") or []]
                messages.append(Message(role=m["role"], content=m.get("content"), tool_calls=calls,
                                        tool_call_id=m.get("tool_call_id"), name=m.get("name")))
            trace = Trace(id=str(i), source="openai_chat", messages=messages, reward=record.get("reward"))
            yield {"id": trace.id, "json": trace.model_dump_json()}

    Dataset.from_generator(rows).save_to_disk(str(out))
    return len(records)


def _load() -> str:
    """The 1-minute load average: on a shared machine the wall-clock figures are only as good as it is low."""
    return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def measure(mode: str, path: Path, out: Path) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # One core: the work is pinned to a single CPU so the figure is per core.
    command = ["taskset", "-c", "0", sys.executable, __file__, "--child", mode, str(path), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 40000])
    parser.add_argument("--baseline-size", type=int, default=20000)
    parser.add_argument("--mb-lines", type=int, nargs="*", default=[100, 200],
                        help="numbers of 1 MB lines (none: skip that part)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = []
        for size in args.sizes:
            for form, path in write_inputs(folder, size).items():
                modes = ["ours"] + (["plain"] if size == args.baseline_size else [])
                for mode in modes:
                    figures = measure(mode, path, folder / f"out-{mode}-{form}-{size}")
                    results.append({"impl": mode, "form": form, "traces": size, **figures})
                    print(f"{mode:>6} {form:>9} {size:>6} traces: {size / figures['seconds']:8.0f} traces/s, "
                          f"{figures['seconds']:6.1f} s ({size / figures['work']:5.0f} traces/s reading, without "
                          f"the start-up; {size / figures['cpu']:5.0f} traces per CPU-second, "
                          f"{size / figures['cpu_work']:5.0f} reading), peak "
                          f"{figures['peak_mib']:7.0f} MiB; load average {_load()}", flush=True)
                path.unlink()
        by = {(r["impl"], r["form"], r["traces"]): r for r in results}
        small, large = sorted(args.sizes)[0], sorted(args.sizes)[-1]
        if ("ours", "jsonl", small) in by and ("ours", "jsonl", large) in by:
            growth = by[("ours", "jsonl", large)]["peak_mib"] / by[("ours", "jsonl", small)]["peak_mib"] - 1
            print(f"JSONL peak memory growth {small} -> {large} traces: {growth:+.1%} (target <= +25%)")
        for form in ("jsonl", "tau-list"):
            ours, plain = by.get(("ours", form, args.baseline_size)), by.get(("plain", form, args.baseline_size))
            if ours and plain:
                print(f"{form}: {plain['seconds'] / ours['seconds']:.1f}x faster than the plain baseline")
        mb_lines(folder, sorted(args.mb_lines))


def mb_lines(folder: Path, sizes: list[int]) -> None:
    """Files of 1 MB lines: MB/s and peak memory, ours beside the plain baseline on the smaller file."""
    peaks = {}
    for n, lines in enumerate(sizes):
        path = write_mb_lines(folder, lines)
        megabytes = path.stat().st_size / 1e6
        for mode in ["ours"] + (["plain"] if n == 0 else []):
            figures = measure(mode, path, folder / f"out-{mode}-mb-{lines}")
            if mode == "ours":
                peaks[lines] = figures["peak_mib"]
            print(f"{mode:>6} 1MB-lines {lines:>6} lines ({megabytes:5.0f} MB): "
                  f"{megabytes / figures['work']:6.1f} MB/s reading ({megabytes / figures['seconds']:5.1f} MB/s "
                  f"with the start-up; {megabytes / figures['cpu']:5.1f} MB per CPU-second), {figures['work']:6.1f} s, "
                  f"peak {figures['peak_mib']:7.0f} MiB (target >= 30 MB/s); load average {_load()}", flush=True)
        path.unlink()
    if len(peaks) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"1MB-lines peak memory growth {small} -> {large} lines: {peaks[large] / peaks[small] - 1:+.1%} "
              "(target <= +25%)")


if __name__ == "__main__":
    main()
