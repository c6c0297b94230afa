"""The LLM generator over real HTTP against the scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from clawloop_synth.generate.journal import Reject
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.sim import verify
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.fake_openai import Behaviour, FakeOpenAI, error, ok, raw, slow
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import broken_handler, by_slot, good_drafts, slot_of


def _config(server: FakeOpenAI, **kw: Any) -> GenerateConfig:
    settings: dict[str, Any] = {"domain": "demo", "per_cluster": 2, "generator": "llm", "clusters": ["c00"],
                                "model": "openai/fake-model", "api_base": server.base_url, "api_key": "sk-test",
                                "retry_wait": 0.01, "timeout": 5.0, "concurrency": 4}
    settings.update(kw)
    return GenerateConfig(**settings)


def _usage(summary: dict[str, Any]) -> dict[str, Any]:
    return dict(summary["usage"]["stages"]["generate"])


def test_valid_specs_are_accepted_then_a_rerun_is_served_from_the_cache(tmp_path: Path,
                                                                         fake_openai: FakeOpenAI) -> None:
    fake_openai.default = by_slot(good_drafts())
    work = make_workdir(tmp_path)
    summary = run_generate(work, _config(fake_openai, per_cluster=3))
    assert summary["accepted"] == 3 and summary["rejected"] == 0
    assert fake_openai.count == 3
    tasks = list(load_records(work / "tasks", TaskSpec))
    assert all(verify(t).ok and t.provenance.generator == "llm" for t in tasks)
    assert "agent/action/missing_action" in fake_openai.requests[0]["messages"][1]["content"]

    rerun = run_generate(work, _config(fake_openai, per_cluster=3))  # the journal: nothing to do
    assert fake_openai.count == 3 and rerun["accepted"] == 3
    shutil.rmtree(work / "generate")  # forget the journal: every answer comes from the answer cache
    fresh = run_generate(work, _config(fake_openai, per_cluster=3))
    assert fake_openai.count == 3, "a request reached the server"
    assert fresh["accepted"] == 3 and _usage(fresh)["cache_hits"] == 3 and _usage(fresh)["cost"] == 0.0
    assert sorted(t.id for t in load_records(work / "tasks", TaskSpec)) == sorted(t.id for t in tasks)


def test_malformed_json_is_reasked_then_accepted(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = by_slot(good_drafts())
    fake_openai.script(raw('{"instruction": "cut off'))
    summary = run_generate(make_workdir(tmp_path), _config(fake_openai, per_cluster=1))
    assert summary["accepted"] == 1 and _usage(summary)["reasks"] == 1 and fake_openai.count == 2


def test_429_and_500_are_retried_with_backoff(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = by_slot(good_drafts())
    fake_openai.script(error(429, retry_after=0.01), error(500))
    summary = run_generate(make_workdir(tmp_path), _config(fake_openai, per_cluster=1))
    assert summary["accepted"] == 1 and _usage(summary)["retries"] == 2 and fake_openai.count == 3


def test_a_response_slower_than_the_timeout_is_retried(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    drafts = good_drafts()
    fake_openai.default = by_slot(drafts)
    fake_openai.script(slow(2.0, drafts[0]))
    summary = run_generate(make_workdir(tmp_path), _config(fake_openai, per_cluster=1, timeout=0.5))
    assert summary["accepted"] == 1 and _usage(summary)["retries"] == 1 and fake_openai.count == 2


def test_invalid_spec_after_every_reask_is_a_reject_not_a_crash(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = by_slot(good_drafts())
    fake_openai.script(*[ok({"instruction": 3, "tools": "nope"})] * 3)  # 1 answer + 2 re-asks, all invalid
    work = make_workdir(tmp_path)
    summary = run_generate(work, _config(fake_openai, per_cluster=1, concurrency=1))
    assert summary["accepted"] == 1 and summary["rejected_by_reason"] == {"invalid_spec": 1}
    rejects = list(load_records(work / "rejects", Reject))
    assert rejects[0].reason == "invalid_spec" and "re-asks" in rejects[0].detail


def test_budget_stop_ends_cleanly_with_the_accepted_saved(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = by_slot(good_drafts())
    work = make_workdir(tmp_path)
    summary = run_generate(work, _config(fake_openai, per_cluster=5, max_requests=2, concurrency=1))
    assert summary["stopped"] and summary["stopped"].startswith("budget: max_requests=2")
    assert fake_openai.count == 2
    assert summary["accepted"] == 2 == len(list(load_records(work / "tasks", TaskSpec)))
    # more budget: the run carries on from where it stopped, paying only for new answers
    more = run_generate(work, _config(fake_openai, per_cluster=5, max_requests=10, concurrency=1))
    assert more["accepted"] == 5 and more["stopped"] is None and fake_openai.count == 5


def test_a_handler_that_fails_verify_gets_feedback_and_is_repaired(tmp_path: Path,
                                                                   fake_openai: FakeOpenAI) -> None:
    drafts = good_drafts()

    def respond(body: dict[str, Any]) -> Behaviour:
        draft = drafts[slot_of(body)]
        return ok(draft if len(body["messages"]) > 2 else broken_handler(draft))

    fake_openai.default = respond
    work = make_workdir(tmp_path)
    summary = run_generate(work, _config(fake_openai, per_cluster=1, concurrency=1))
    assert summary["accepted"] == 1 and fake_openai.count == 2
    [task] = load_records(work / "tasks", TaskSpec)
    assert task.id.endswith("-r1") and verify(task).ok
    [reject] = load_records(work / "rejects", Reject)
    assert reject.reason.startswith("verify:") and "no_such_collection" in reject.detail
    repair = fake_openai.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "no_such_collection" in repair[-2]["content"]
    assert "The simulator rejected that task" in repair[-1]["content"] and reject.reason in repair[-1]["content"]


def test_dry_run_estimates_and_sends_nothing(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    summary = run_generate(make_workdir(tmp_path), _config(fake_openai, per_cluster=2, dry_run=True))
    assert summary["dry_run"] and summary["requests"] == 2 and summary["prompt_tokens"] > 0
    assert fake_openai.count == 0
    json.dumps(summary)
