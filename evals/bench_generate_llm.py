"""The LLM generator path of the generate stage against a local server answering in 100 ms.

    python evals/bench_generate.py --generator [--clusters 10] [--n 200] [--concurrency 20]
                                   [--latency 0.1] [--sequential 40] [--repeat 3]

In one run: ``run_generate`` with the ``llm`` generator over ``clusters x per-cluster`` tasks (demo
domain, one structured call per task, every answer a distinct valid draft, judged by the real gate:
verify and targeting in the gate's worker process, near-duplicates and the journal on a thread;
repairs off, cache empty) at ``--concurrency``; the same with the gate reduced to its near-duplicate
test (the LLM path's own overhead); the floor (the same request bodies posted with bare aiohttp and
parsed: what the machine and server allow); each ``--repeat`` times, the median reported; and the same
path with concurrency 1 (the sequential loop; ``--sequential`` tasks, scaled). Reports the wall time
of the generation phase (first request to last verdict) against the ideal ``n / concurrency x
latency``, where the time goes (HTTP round trip, event-loop CPU, answer parsing, gate CPU), and the
whole stage (inputs, journal, datasets) for orientation. Target: <= 1.5x the ideal.
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


def _worker_cpu() -> float:
    """CPU seconds used so far by the gate's worker process (0 when none runs)."""
    import os

    from clawloop_synth.generate import workers

    worker = workers._EXAMINER
    if worker is None:
        return 0.0
    try:
        fields = Path(f"/proc/{worker._proc.pid}/stat").read_text().split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _parse_cost(answers: list[Any]) -> float:
    """CPU seconds to parse these answers again as the seam does (envelope, then the TaskDraft)."""
    from openai.types.chat import ChatCompletion

    from clawloop_synth.generate.drafts import TaskDraft

    bodies = [answer.model_dump_json() for answer in answers]
    start = time.thread_time()
    for body in bodies:
        envelope = ChatCompletion.model_validate_json(body)
        TaskDraft.model_validate_json(envelope.choices[0].message.content or "")
    return time.thread_time() - start


def _timed(base_url: str, clusters: int, per_cluster: int, concurrency: int, verify: bool = True) -> dict[str, Any]:
    from unittest import mock

    from clawloop_synth.generate.base import Verdict
    from clawloop_synth.generate.gate import Gate
    from clawloop_synth.generate.llm_gen import LLMGenerator
    from clawloop_synth.generate.registry import make_llm
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.llm._transport import Transport

    phase: dict[str, float] = {}
    spans: list[tuple[float, float]] = []
    answers: list[Any] = []
    bodies: list[dict[str, Any]] = []
    send = Transport.complete

    async def complete(self: Transport, kwargs: dict[str, Any]) -> Any:
        bodies.append({**kwargs, "model": self.model_name})
        start = time.perf_counter()
        answer = await send(self, kwargs)
        spans.append((start, time.perf_counter()))  # request out to answer parsed, loop delays included
        answers.append(answer)
        return answer

    class Timed(LLMGenerator):
        def run_async(self, run: Any) -> str | None:
            start, loop_cpu, gate_cpu = time.perf_counter(), time.thread_time(), _worker_cpu()
            try:
                return super().run_async(run)
            finally:
                phase.update(seconds=time.perf_counter() - start, start=start,
                             loop_cpu=time.thread_time() - loop_cpu, gate_cpu=_worker_cpu() - gate_cpu)

    with tempfile.TemporaryDirectory() as tmp:
        work = _workdir(Path(tmp), clusters)
        config = GenerateConfig(domain="demo", per_cluster=per_cluster, generator="llm", model="openai/bench-model",
                                api_base=base_url, api_key="sk-bench", concurrency=concurrency, max_repairs=0,
                                attempts=1, timeout=30)
        llm = make_llm(config, work)
        # verify=False: the gate keeps only its near-duplicate test (the seam and the generator's own work)
        light = mock.patch.object(Gate, "check",
                                  lambda self, task, code, examined=None: (Verdict(True), self._vector(task)))
        with light if not verify else contextlib.nullcontext(), mock.patch.object(Transport, "complete", complete):
            start = time.perf_counter()
            summary = run_generate(work, config, generator=Timed(llm, max_repairs=0, gate_process=verify),
                                   llm=llm)
            total = time.perf_counter() - start
    usage = summary["usage"]["stages"]["generate"]
    n = max(1, len(spans))
    return {"phase": phase["seconds"], "total": total, "accepted": summary["accepted"],
            "rejected": summary["rejected"], "reasons": summary["rejected_by_reason"], "requests": usage["requests"],
            "loop_cpu": phase["loop_cpu"], "gate_cpu": phase["gate_cpu"], "parse_cpu": _parse_cost(answers),
            "http_mean": sum(end - begin for begin, end in spans) / n, "bodies": bodies,
            "last_answer": max((end for _, end in spans), default=phase["start"]) - phase["start"]}


def _floor(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> float:
    """Wall time to post the same request bodies with bare aiohttp behind a semaphore and parse the
    answers (envelope + TaskDraft), with no seam, generator or gate: what this machine and server allow."""
    import asyncio

    import aiohttp
    import orjson
    from openai.types.chat import ChatCompletion

    from clawloop_synth.generate.drafts import TaskDraft

    async def main() -> float:
        semaphore = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency * 2)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(body: dict[str, Any]) -> None:
                async with semaphore, session.post(f"{base_url}/chat/completions", data=orjson.dumps(body),
                                                   headers={"Content-Type": "application/json"}) as response:
                    content = await response.read()
                envelope = ChatCompletion.model_validate_json(content)
                TaskDraft.model_validate_json(envelope.choices[0].message.content or "")

            await one(bodies[0])
            start = time.perf_counter()
            await asyncio.gather(*(one(body) for body in bodies))
            return time.perf_counter() - start

    return asyncio.run(main())


def _breakdown(run: dict[str, Any], n: int, latency: float) -> str:
    """Where the time of one concurrent run went."""
    per = 1000 / max(1, n)
    return (f"    where the time goes: HTTP round trip {run['http_mean'] * 1000:.0f} ms mean (server latency "
            f"{latency * 1000:.0f} ms; the rest is the loaded machine and event-loop queueing), last answer at "
            f"{run['last_answer']:.2f} s, last verdict {run['phase'] - run['last_answer']:.2f} s later;\n"
            f"    event-loop CPU {run['loop_cpu']:.2f} s ({run['loop_cpu'] * per:.2f} ms/call; of it model-answer "
            f"parsing {run['parse_cpu'] * per:.2f} ms/call, measured by parsing the same answers again); "
            f"gate CPU {run['gate_cpu']:.2f} s ({run['gate_cpu'] * per:.2f} ms/candidate, in its worker process)")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r["phase"])[len(runs) // 2]


def run(clusters: int, per_cluster: int, concurrency: int, latency: float, sequential: int, repeat: int = 3) -> None:
    """Start the server, time the concurrent and the sequential generator runs, print the figures.

    The concurrent runs (full gate, then gate without verify/targeting, then the floor) are repeated
    ``repeat`` times, interleaved, since the 2 shared cores make single runs noisy; the ratio is taken
    from the median run and every run is printed."""
    sys.path.insert(0, str(ROOT))
    server = subprocess.Popen([sys.executable, "-m", "tests.generate.bench_server", "--delay", str(latency)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        # warm-up: imports, connection pool, the gate's worker process and its sandbox compile cache
        _timed(base_url, 1, 2, concurrency)
        n = clusters * per_cluster
        ideal = n / concurrency * latency
        fulls: list[dict[str, Any]] = []
        lights: list[dict[str, Any]] = []
        floors: list[float] = []
        for _ in range(max(1, repeat)):
            fulls.append(_timed(base_url, clusters, per_cluster, concurrency))
            lights.append(_timed(base_url, clusters, per_cluster, concurrency, verify=False))
            floors.append(_floor(base_url, fulls[-1]["bodies"], concurrency))
        fast, light, floor = _median(fulls), _median(lights), sorted(floors)[len(floors) // 2]
        seq_clusters = max(1, sequential // per_cluster)
        seq = _timed(base_url, seq_clusters, per_cluster, 1)
        seq_scaled = seq["phase"] * n / (seq_clusters * per_cluster)

        def runs(values: list[float]) -> str:
            return ", ".join(f"{v / ideal:.2f}x" for v in values)

        print(f"LLM generator path: {n} tasks ({clusters} clusters x {per_cluster}), server latency "
              f"{latency * 1000:.0f} ms, concurrency {concurrency}: ideal {ideal:.2f} s; median of {len(fulls)} runs")
        print(f"  concurrent: generation {fast['phase']:.2f} s = {fast['phase'] / ideal:.2f}x ideal "
              f"(target <= 1.5x: {'met' if fast['phase'] <= 1.5 * ideal else 'NOT met'}; runs "
              f"{runs([r['phase'] for r in fulls])}); whole stage {fast['total']:.2f} s; {fast['requests']} requests, "
              f"{fast['accepted']} accepted, {fast['rejected']} rejected {fast['reasons']}")
        print(_breakdown(fast, n, latency))
        print(f"  concurrent, gate without verify/targeting (the LLM path's own overhead): generation "
              f"{light['phase']:.2f} s = {light['phase'] / ideal:.2f}x ideal "
              f"(target <= 1.5x: {'met' if light['phase'] <= 1.5 * ideal else 'NOT met'}; runs "
              f"{runs([r['phase'] for r in lights])})")
        print(_breakdown(light, n, latency))
        print(f"  floor: the same {len(fast['bodies'])} request bodies posted with bare aiohttp and parsed, no seam, "
              f"generator or gate: {floor:.2f} s = {floor / ideal:.2f}x ideal (runs {runs(floors)}; this machine "
              f"and server, now)")
        print(f"  sequential (concurrency 1, {seq_clusters * per_cluster} tasks, scaled to {n}): "
              f"{seq_scaled:.2f} s; speed-up {seq_scaled / fast['phase']:.1f}x")
    finally:
        server.terminate()
        server.wait()
