"""What rendering the LLM generator's prompt costs per model call, beside the call itself.

Issue 16 asked to keep only the speed-ups a benchmark shows matter end to end. The generate prompt
used to be rendered once per cluster as a skeleton with numeric slot marks and filled by string
replacement; this prints the cost of the plain per-slot render (``llm_gen.generation_messages``)
on the demo clusters beside the wall time of one structured call through the LLM seam to the
scripted local server (``tests/fake_openai.py``, answering at once: the cheapest call there is;
a real model takes a second or more).

    python evals/bench_generate_prompt.py [--prompts 400] [--calls 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clawloop_synth.generate import llm_gen  # noqa: E402
from clawloop_synth.generate.drafts import TaskDraft  # noqa: E402
from clawloop_synth.generate.stage import GenerateConfig, _load_inputs, build_requests  # noqa: E402
from clawloop_synth.llm import LLM, LLMConfig  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.generate.helpers import make_workdir  # noqa: E402
from tests.generate.llm_script import by_slot, good_drafts  # noqa: E402


def render_ms(prompts: int) -> float:
    config = GenerateConfig(domain="demo", per_cluster=4, generator="llm")
    requests = build_requests(config, *_load_inputs(make_workdir(Path(tempfile.mkdtemp())), config))
    llm_gen.generation_messages(requests[0], 0)  # warm: template compiled, static variables kept
    started = time.perf_counter()
    for n in range(prompts):
        llm_gen.generation_messages(requests[n % len(requests)], n)
    return (time.perf_counter() - started) / prompts * 1000


async def call_ms(calls: int) -> float:
    config = GenerateConfig(domain="demo", per_cluster=4, generator="llm")
    request = build_requests(config, *_load_inputs(make_workdir(Path(tempfile.mkdtemp())), config))[0]
    with FakeOpenAI(default=by_slot(good_drafts())) as server:
        llm = LLM(LLMConfig("openai/fake-model", api_base=server.base_url, api_key="sk-test"))
        await llm.astructured(llm_gen.generation_messages(request, 0), TaskDraft, stage="warmup")
        started = time.perf_counter()
        for n in range(calls):
            await llm.astructured(llm_gen.generation_messages(request, n + 1), TaskDraft, stage="bench", variant=n)
        await llm.aclose()
    return (time.perf_counter() - started) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=400)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    render = render_ms(args.prompts)
    call = asyncio.run(call_ms(args.calls))
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"prompt render: {render:.2f} ms per prompt ({args.prompts} prompts)")
    print(f"structured call to the local scripted server (baseline, answers at once): {call:.2f} ms per call "
          f"(prompt render included)")
    print(f"render share of that call: {render / call:.1%}; of a 1 s model call: {render / 1000:.2%}")


if __name__ == "__main__":
    main()
