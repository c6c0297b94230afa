"""Secrets planted in traces reach no request body and no cache file of the three LLM stages that read traces:
the LLM generator (cluster exemplars with their steps), the LLM cluster labeller (failure cards) and the LLM
localizer (the whole conversation), each run against the recording local server over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.mine.llm import llm_localize
from clawloop_synth.mine.stage import run_cluster
from clawloop_synth.store import save_records
from clawloop_synth.types import Failure, Message, ToolCall, Trace
from tests.fake_openai import FakeOpenAI, ok
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import by_slot, good_drafts
from tests.llm.test_redact import NEW_PLANTED, PLANTED, VISA

KEY = "sk-proj-AbCdEf0123456789GhIjKlMn"
SPLIT = (KEY[:14], KEY[14:])  # one key cut across two messages
SECRETS = [*PLANTED, *NEW_PLANTED, *SPLIT]
# each secret in the context that makes it one (a bare "s3cr3t-value-42" is just a word)
CONTEXTS = ["I am Jane, reach me at jane.doe@example.com or +1 (415) 555-0132.", f"Pay with {VISA}.",
            "fetch https://admin:hunter2pass@db.internal/x", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
            "aws AKIAIOSFODNN7EXAMPLE, api_key=s3cr3t-value-42", f"config has OPENAI key {KEY}",
            *NEW_PLANTED.values()]


def _planted_trace(trace_id: str) -> Trace:
    """A failed conversation carrying every planted kind: in user text, tool arguments and tool results."""
    messages = [Message(role="user", content=text) for text in CONTEXTS]
    messages += [Message(role="user", content=f"key part one {SPLIT[0]}"),
                 Message(role="user", content=f"{SPLIT[1]} is part two")]
    messages += [
        Message(role="assistant", content=None, tool_calls=[ToolCall(id="c1", name="http_get", arguments={
            "url": "https://admin:hunter2pass@db.internal/x", "api_key": "s3cr3t-value-42",
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"}})]),
        Message(role="tool", tool_call_id="c1", name="http_get",
                content=f"error: key {KEY} rejected; aws AKIAIOSFODNN7EXAMPLE; card {VISA}"),
        Message(role="assistant", content="Done."),
    ]
    return Trace(id=trace_id, source="openai_chat", messages=messages)


def _plant(work: Path) -> None:
    """Every cluster exemplar's trace and card carries the secrets (the generator and labeller read these)."""
    from clawloop_synth.store import load_records

    failures = list(load_records(work / "failures", Failure))
    traces = {f.trace_id: _planted_trace(f.trace_id) for f in failures}
    secrets_card = " ".join(CONTEXTS)
    failures = [f.model_copy(update={"step": len(traces[f.trace_id].messages) - 2,
                                     "card": f"{f.card} | {secrets_card}", "error": secrets_card,
                                     "detail": secrets_card}) for f in failures]
    save_records(work / "failures", failures)
    save_records(work / "traces", list(traces.values()))


def _leaks(server: FakeOpenAI, cache: Path) -> dict[str, list[str]]:
    received = json.dumps(server.requests)
    cached = "".join(p.read_text(errors="replace") for p in cache.rglob("*") if p.is_file())
    assert server.requests and cached, "nothing was sent or cached: the test would prove nothing"
    return {"request": [s for s in SECRETS if s in received], "cache": [s for s in SECRETS if s in cached]}


def test_the_llm_generator_sends_and_caches_no_planted_secret(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    work = make_workdir(tmp_path / "w")
    _plant(work)
    fake_openai.default = by_slot(good_drafts())
    summary = run_generate(work, GenerateConfig(
        domain="demo", per_cluster=1, generator="llm", clusters=["c00"], model="openai/fake-model",
        api_base=fake_openai.base_url, api_key="sk-test", retry_wait=0.01, timeout=5.0, concurrency=1))
    assert summary["accepted"] == 1
    assert _leaks(fake_openai, work / "cache" / "llm") == {"request": [], "cache": []}
    assert summary["usage"]["stages"]["generate"]["redacted"]  # what was redacted is counted per kind


def test_the_llm_labeller_sends_and_caches_no_planted_secret(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    work = make_workdir(tmp_path / "w")
    _plant(work)
    fake_openai.default = ok({"label": "stops before the change", "codes": ["agent/action/missing_action"]})
    run_cluster(work, k=3, llm_model="openai/fake", llm_api_base=fake_openai.base_url)
    assert _leaks(fake_openai, work / "llm-cache") == {"request": [], "cache": []}


def test_the_llm_localizer_sends_and_caches_no_planted_secret(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = ok({"agent": "assistant", "step": 3, "code": "agent/action/missing_action",
                              "reason": "gave up"})
    cache = tmp_path / "llm-cache"
    where = llm_localize(_planted_trace("t1"), "openai/fake", api_base=fake_openai.base_url, api_key="sk-test",
                         retry_wait=0.01, cache_dir=cache)
    assert where is not None and where.code == "agent/action/missing_action"
    assert _leaks(fake_openai, cache) == {"request": [], "cache": []}
