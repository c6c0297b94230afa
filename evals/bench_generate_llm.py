"""The LLM generator path of the generate stage against a local server answering in 100 ms.

    python evals/bench_generate.py --generator [--clusters 10] [--per-cluster 20] [--concurrency 20]
                                   [--latency 0.1] [--sequential 40]

In one run: ``run_generate`` with the ``llm`` generator over ``clusters x per-cluster`` tasks (demo
domain, one structured call per task, every answer a distinct valid draft, judged by the real gate on
a worker thread; repairs off, cache empty) at ``--concurrency``, and beside it the same path with
concurrency 1 (the sequential loop; ``--sequential`` tasks, scaled). Reports the wall time of the
generation phase (first request to last verdict) against the ideal ``n / concurrency x latency``,
and of the whole stage (inputs, journal, datasets) for orientation. Target: <= 1.5x the ideal.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _workdir(root: Path, clusters: int) -> Path:
    from clawloop_synth.store import save_records
    from clawloop_synth.types import Failure, FailureCluster, Trace
    from tests.generate.bench_server import CODES

    failures, made = [], []
    for n in range(clusters):
        cid, code = f"c{n:02d}", CODES[n % len(CODES)]
        ids = [f"t-{cid}#0"]
        failures.append(Failure(id=ids[0], trace_id=f"t-{cid}", step=1, code=code, signal="bench", card=code))
        made.append(FailureCluster(id=cid, label=code.split("/")[-1], codes=[code], size=1, member_ids=ids,
                                   exemplar_ids=ids))
    save_records(root / "failures", failures)
    save_records(root / "clusters", made)
    save_records(root / "traces", [Trace(id="t-c00", source="openai_chat", messages=[])])
    return root


def _timed(base_url: str, clusters: int, per_cluster: int, concurrency: int, verify: bool = True) -> dict[str, Any]:
    from unittest import mock

    from clawloop_synth.generate.base import Verdict
    from clawloop_synth.generate.gate import Gate
    from clawloop_synth.generate.llm_gen import LLMGenerator
    from clawloop_synth.generate.registry import make_llm
    from clawloop_synth.generate.stage import GenerateConfig, run_generate

    phase: dict[str, float] = {}

    class Timed(LLMGenerator):
        def run_async(self, run: Any) -> str | None:
            start = time.perf_counter()
            try:
                return super().run_async(run)
            finally:
                phase["seconds"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        work = _workdir(Path(tmp), clusters)
        config = GenerateConfig(domain="demo", per_cluster=per_cluster, generator="llm", model="openai/bench-model",
                                api_base=base_url, api_key="sk-bench", concurrency=concurrency, max_repairs=0,
                                attempts=1, timeout=30)
        llm = make_llm(config, work)
        # verify=False: the gate keeps only its near-duplicate test (the seam and the generator's own work)
        light = mock.patch.object(Gate, "check",
                                  lambda self, task, code, examined=None: (Verdict(True), self._vector(task)))
        with light if not verify else contextlib.nullcontext():
            start = time.perf_counter()
            summary = run_generate(work, config, generator=Timed(llm, max_repairs=0, gate_process=verify),
                                   llm=llm)
            total = time.perf_counter() - start
    usage = summary["usage"]["stages"]["generate"]
    return {"phase": phase["seconds"], "total": total, "accepted": summary["accepted"],
            "rejected": summary["rejected"], "reasons": summary["rejected_by_reason"], "requests": usage["requests"]}


def run(clusters: int, per_cluster: int, concurrency: int, latency: float, sequential: int) -> None:
    """Start the server, time the concurrent and the sequential generator runs, print the figures."""
    sys.path.insert(0, str(ROOT))
    server = subprocess.Popen([sys.executable, "-m", "tests.generate.bench_server", "--delay", str(latency)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        _timed(base_url, 1, 2, concurrency)  # warm-up: imports, connection pool, sandbox compile cache
        n = clusters * per_cluster
        ideal = n / concurrency * latency
        fast = _timed(base_url, clusters, per_cluster, concurrency)
        light = _timed(base_url, clusters, per_cluster, concurrency, verify=False)
        seq_clusters = max(1, sequential // per_cluster)
        seq = _timed(base_url, seq_clusters, per_cluster, 1)
        seq_scaled = seq["phase"] * n / (seq_clusters * per_cluster)
        print(f"LLM generator path: {n} tasks ({clusters} clusters x {per_cluster}), server latency "
              f"{latency * 1000:.0f} ms, concurrency {concurrency}: ideal {ideal:.2f} s")
        print(f"  concurrent: generation {fast['phase']:.2f} s = {fast['phase'] / ideal:.2f}x ideal "
              f"(target <= 1.5x: {'met' if fast['phase'] <= 1.5 * ideal else 'NOT met'}); whole stage "
              f"{fast['total']:.2f} s; {fast['requests']} requests, {fast['accepted']} accepted, "
              f"{fast['rejected']} rejected {fast['reasons']}")
        print(f"  concurrent, gate without verify/targeting (the LLM path's own overhead): generation "
              f"{light['phase']:.2f} s = {light['phase'] / ideal:.2f}x ideal "
              f"(target <= 1.5x: {'met' if light['phase'] <= 1.5 * ideal else 'NOT met'})")
        print(f"  sequential (concurrency 1, {seq_clusters * per_cluster} tasks, scaled to {n}): "
              f"{seq_scaled:.2f} s; speed-up {seq_scaled / fast['phase']:.1f}x")
    finally:
        server.terminate()
        server.wait()
