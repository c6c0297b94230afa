"""Throughput of the LLM seam's structured call against a local server that answers in 100 ms.

The scripted OpenAI-compatible server (``tests/fake_openai.py``) runs in its own process so that it
does not share the client's GIL. In one run: ``--n`` structured calls (a small TaskSpec-like model,
JSON mode, re-ask and retry machinery on, cache off) through ``LLM.amap`` at ``--concurrency``, and
beside it the same calls one at a time (the sequential baseline; ``--sequential`` of them, scaled
to ``--n``) and the floor: bare ``aiohttp`` posts behind a semaphore plus ``model_validate_json``, with
no seam at all (its ratio shows how much of the gap is the shared machine, not the seam).
``--litellm`` adds the same concurrent run through the seam's general litellm path.

    python evals/bench_generate.py [--n 200] [--concurrency 20] [--latency 0.1] [--sequential 200] [--litellm]

Target (issue 5): concurrent wall time <= 1.5x the ideal n / concurrency x latency (1 s by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clawloop_synth.llm import LLM, LLMConfig, Request  # noqa: E402


class PlannedCall(BaseModel):
    name: str
    arguments: dict[str, Any]


class BenchTask(BaseModel):
    """Shaped like a small TaskSpec: instruction, tools, initial state, reference calls, answer."""

    instruction: str
    tools: list[str]
    initial_state: dict[str, Any]
    reference: list[PlannedCall]
    answer: str


ANSWER = {
    "instruction": "Cancel reservation ZFA04Y for Mia Li and refund to the original card.",
    "tools": ["get_reservation_details", "cancel_reservation"],
    "initial_state": {"reservations": {"ZFA04Y": {"user_id": "mia_li_3668", "status": "active"}}},
    "reference": [{"name": "get_reservation_details", "arguments": {"reservation_id": "ZFA04Y"}},
                  {"name": "cancel_reservation", "arguments": {"reservation_id": "ZFA04Y"}}],
    "answer": "Reservation ZFA04Y is cancelled.",
}


def prompt(i: int) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You write tool-use training tasks for an airline agent."},
            {"role": "user", "content": f"Write task number {i} targeting cluster agent/action/wrong_argument."}]


async def concurrent(llm: LLM, n: int, stage: str) -> float:
    requests = [Request(prompt(i), BenchTask, stage=stage, key=i) for i in range(n)]
    start = time.perf_counter()
    done = 0
    async for result in llm.amap(requests):
        assert result.value is not None, result.error
        done += 1
    assert done == n
    return time.perf_counter() - start


async def floor(base_url: str, n: int, concurrency: int) -> float:
    import aiohttp
    import orjson

    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency * 2)) as session:

        async def one(i: int) -> BenchTask:
            body = orjson.dumps({"model": "bench-model", "messages": prompt(i)})
            async with semaphore, session.post(f"{base_url}/chat/completions", data=body,
                                               headers={"Content-Type": "application/json"}) as response:
                data = orjson.loads(await response.read())
            return BenchTask.model_validate_json(data["choices"][0]["message"]["content"])

        await one(-1)
        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - start


async def sequential(llm: LLM, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        await llm.astructured(prompt(i), BenchTask, stage="sequential")
    return time.perf_counter() - start


async def bench(args: argparse.Namespace, base_url: str) -> None:
    def make(**kw: Any) -> LLM:
        return LLM(LLMConfig("openai/bench-model", api_base=base_url, api_key="sk-bench", timeout=30,
                             concurrency=args.concurrency, **kw))

    ideal = args.n / args.concurrency * args.latency
    fast = make()
    await fast.astructured(prompt(-1), BenchTask, stage="warmup")  # imports instructor, httpx, openai types
    cpu = time.process_time()
    wall = await concurrent(fast, args.n, "concurrent")
    cpu_ms = (time.process_time() - cpu) / args.n * 1000
    seq = await sequential(fast, args.sequential) * args.n / args.sequential
    await fast.aclose()
    assert fast.usage["concurrent"].requests == args.n and fast.usage["concurrent"].reasks == 0
    print(f"{args.n} structured calls, server latency {args.latency * 1000:.0f} ms, "
          f"concurrency {args.concurrency}: ideal {ideal:.2f} s")
    print(f"  seam, fast path (aiohttp, instructor JSON mode): {wall:.2f} s = {wall / ideal:.2f}x ideal "
          f"(target <= 1.5x: {'met' if wall <= 1.5 * ideal else 'NOT met'}), client CPU {cpu_ms:.2f} ms/call")
    print(f"  sequential loop ({args.sequential} calls, scaled to {args.n}): {seq:.2f} s; "
          f"speed-up {seq / wall:.1f}x")
    bare = await floor(base_url, args.n, args.concurrency)
    print(f"  floor (bare aiohttp + pydantic, no seam): {bare:.2f} s = {bare / ideal:.2f}x ideal")
    if args.litellm:
        slow = make(fast_path=False)
        await slow.astructured(prompt(-1), BenchTask, stage="warmup")
        wall_l = await concurrent(slow, args.n, "concurrent")
        await slow.aclose()
        print(f"  seam, litellm path (litellm.acompletion): {wall_l:.2f} s = {wall_l / ideal:.2f}x ideal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--sequential", type=int, default=200, help="sequential calls to time (scaled to --n)")
    parser.add_argument("--litellm", action="store_true", help="also time the litellm path")
    parser.add_argument("--generator", action="store_true",
                        help="time the generate stage's LLM generator path instead (evals/bench_generate_llm.py)")
    parser.add_argument("--clusters", type=int, default=10, help="--generator: clusters (n = clusters x per cluster)")
    parser.add_argument("--repeat", type=int, default=3, help="--generator: concurrent runs (the median is reported)")
    args = parser.parse_args()
    if args.generator:
        from evals.bench_generate_llm import run

        run(args.clusters, args.n // args.clusters, args.concurrency, args.latency, min(args.sequential, 40),
            args.repeat)
        return
    server = subprocess.Popen([sys.executable, "-m", "tests.fake_openai", "--delay", str(args.latency),
                               "--answer", json.dumps(ANSWER)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        asyncio.run(bench(args, base_url))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
