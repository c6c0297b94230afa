"""LLM faults end to end (issue 14): an outage leaves the clusters pending (not done with "proposed no
candidate"), and a re-run against a healthy server produces the tasks; judging a candidate has a
wall-clock bound, past which it is rejected and the run goes on."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.generate import llm_gen
from clawloop_synth.generate.journal import Reject
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.fake_openai import FakeOpenAI, error, html, no_choices
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import by_slot, good_drafts


def _config(server: FakeOpenAI, **kw: Any) -> GenerateConfig:
    settings: dict[str, Any] = {"domain": "demo", "per_cluster": 2, "generator": "llm", "clusters": ["c00"],
                                "model": "openai/fake-model", "api_base": server.base_url, "api_key": "sk-test",
                                "retry_wait": 0.01, "timeout": 5.0, "concurrency": 2}
    settings.update(kw)
    return GenerateConfig(**settings)


def guarded(fn: Any, guard: float = 300.0) -> Any:
    """``fn()`` on a thread with a generous hang guard (not a timing)."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(timeout=guard)
    assert not thread.is_alive(), "generate hung"
    return out[0]


@pytest.mark.parametrize("outage", [lambda: error(500), lambda: error(429, retry_after=0.01), no_choices, html],
                         ids=["500", "429", "empty-choices", "html-body"])
def test_outage_then_healthy_server_produces_the_tasks(tmp_path: Path, fake_openai: FakeOpenAI,
                                                       outage: Any) -> None:
    work = make_workdir(tmp_path)
    fake_openai.default = outage()
    down = guarded(lambda: run_generate(work, _config(fake_openai)))
    assert down["accepted"] == 0 and down["pending_clusters"] == ["c00"]
    [cluster] = down["clusters"]
    assert "left pending" in cluster["reason"] and "proposed no candidate" not in cluster["reason"]
    sent = fake_openai.count
    assert sent >= 1

    fake_openai.default = by_slot(good_drafts())
    up = guarded(lambda: run_generate(work, _config(fake_openai)))
    assert fake_openai.count > sent, "the re-run sent nothing"
    assert up["accepted"] == 2 and up["pending_clusters"] == []
    assert len(list(load_records(work / "tasks", TaskSpec))) == 2


def test_judging_past_its_wall_clock_bound_rejects_the_candidate_and_the_run_goes_on(
        tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    from clawloop_synth.generate import workers

    slow_once = {"done": False}
    real_submit = workers.Examiner.submit

    def stuck(self: Any, task: Any, target_code: Any) -> Any:
        from concurrent.futures import Future

        if not slow_once["done"]:  # the first candidate's judging never ends (a stuck worker)
            slow_once["done"] = True
            return Future()
        return real_submit(self, task, target_code)

    monkeypatch.setattr(workers.Examiner, "submit", stuck)
    monkeypatch.setattr(llm_gen, "JUDGE_SECONDS", 5.0)
    fake_openai.default = by_slot(good_drafts())
    work = make_workdir(tmp_path)
    started = time.monotonic()
    summary = guarded(lambda: run_generate(work, _config(fake_openai, per_cluster=1, concurrency=1)))
    assert summary["accepted"] == 1 and summary["pending_clusters"] == []
    [reject] = load_records(work / "rejects", Reject)
    assert reject.reason == "judge_timeout"
    assert time.monotonic() - started < 300
