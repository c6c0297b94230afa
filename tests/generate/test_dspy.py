"""The DSPy program: generation through the stage and ``optimize`` with dspy's DummyLM (no network), and
over real HTTP against the scripted server: its requests are counted and budgeted by the seam."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dspy
import pytest
from dspy.utils import DummyLM

from clawloop_synth.generate.dspy_gen import DSPyGenerator
from clawloop_synth.generate.dspy_opt import OptimizeConfig, run_optimize
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.llm import LLM, LLMConfig
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.fake_openai import Behaviour, FakeOpenAI, error, raw
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import good_drafts, slot_of


@pytest.fixture(autouse=True)
def _reset_dspy(tmp_path: Path) -> Iterator[None]:
    """dspy's answer cache is process-wide (memory) and on disk in the home directory: each test gets a
    fresh one on disk only, so that what reaches the server does not depend on earlier tests or runs."""
    saved = dspy.cache
    dspy.configure_cache(enable_memory_cache=False, disk_cache_dir=str(tmp_path / "dspy-cache"))
    yield
    dspy.settings.configure(lm=None)
    dspy.cache = saved


def _answers(n: int) -> list[dict[str, str]]:
    return [{"task": json.dumps(d)} for d in good_drafts(n=n)]


def test_dspy_program_generates_through_the_stage(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    llm = LLM(LLMConfig("openai/unused", cache_dir=tmp_path / "c"))
    generator = DSPyGenerator(llm, lm=DummyLM(_answers(3)), max_repairs=0)
    summary = run_generate(work, GenerateConfig(domain="demo", per_cluster=2, generator="dspy", clusters=["c00"],
                                                concurrency=1), generator=generator)
    assert summary["accepted"] == 2 and summary["generator"] == "dspy"


def test_optimize_compiles_and_saves_a_program_that_generate_loads(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    out = tmp_path / "program.json"
    summary = run_optimize(work, OptimizeConfig(domain="demo", out=out, train=3, max_demos=1),
                           lm=DummyLM(_answers(8) * 4))
    assert out.is_file() and summary["train"] == 3 and 0.0 <= summary["score_after"] <= 1.0
    llm = LLM(LLMConfig("openai/unused"))
    loaded = DSPyGenerator(llm, program=out, lm=DummyLM(_answers(2)))
    assert loaded.program.predictors()


def _chat_answers(drafts: list[dict[str, Any]]) -> Any:
    """A responder: the draft of the prompt's slot, in dspy's ChatAdapter format."""

    def respond(body: dict[str, Any]) -> Behaviour:
        draft = drafts[slot_of(body) % len(drafts)]
        return raw(f"[[ ## task ## ]]\n{json.dumps(draft)}\n\n[[ ## completed ## ]]")

    return respond


def _http_config(server: FakeOpenAI, **kw: Any) -> GenerateConfig:
    settings: dict[str, Any] = {"domain": "demo", "per_cluster": 2, "generator": "dspy", "clusters": ["c00"],
                                "model": "openai/fake-model", "api_base": server.base_url, "api_key": "sk-test",
                                "retry_wait": 0.01, "timeout": 5.0, "concurrency": 2, "max_repairs": 0}
    settings.update(kw)
    return GenerateConfig(**settings)


def test_dspy_requests_over_http_are_counted_in_the_usage(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = _chat_answers(good_drafts())
    fake_openai.script(error(429, retry_after=0.01))
    work = make_workdir(tmp_path)
    summary = run_generate(work, _http_config(fake_openai))
    assert summary["accepted"] == 2 and summary["generator"] == "dspy"
    usage = summary["usage"]["stages"]["generate"]
    assert fake_openai.count == 3 and usage["requests"] == 3 and usage["retries"] == 1
    assert usage["calls"] == 2 and usage["cache_hits"] == 0
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert summary["usage"]["cost_known"] is False and usage["cost"] == 0.0  # not in litellm's price map
    assert json.loads((work / "generate.json").read_text())["usage"]["total"]["requests"] == 3
    assert all(m["role"] != "user" or "variation" in m["content"] for m in fake_openai.requests[0]["messages"])

    shutil.rmtree(work / "generate")  # forget the journal: dspy's cache answers, counted as hits
    fresh = run_generate(work, _http_config(fake_openai))
    usage = fresh["usage"]["stages"]["generate"]
    assert fake_openai.count == 3, "a request reached the server"
    assert fresh["accepted"] == 2 and usage["cache_hits"] == 2 and usage["requests"] == 0


def test_dspy_max_requests_stops_cleanly_with_the_accepted_saved(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = _chat_answers(good_drafts())
    work = make_workdir(tmp_path)
    summary = run_generate(work, _http_config(fake_openai, per_cluster=5, max_requests=2))
    assert fake_openai.count == 2, "the budget let a request through"
    assert summary["stopped"] and summary["stopped"].startswith("budget")
    assert summary["usage"]["budget_exceeded"] == "max_requests=2 reached"
    assert summary["usage"]["total"]["requests"] == 2
    assert summary["accepted"] == 2 and len(list(load_records(work / "tasks", TaskSpec))) == 2


def test_make_lm_without_a_seam_keeps_its_own_budget(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from clawloop_synth.generate.dspy_gen import make_lm
    from clawloop_synth.llm import BudgetExceeded

    fake_openai.default = _chat_answers(good_drafts())
    lm = make_lm(LLMConfig("openai/fake-model", api_base=fake_openai.base_url, api_key="sk-test", max_requests=1))
    with dspy.context(lm=lm):
        assert lm("say hi") and fake_openai.count == 1
        with pytest.raises(BudgetExceeded):
            lm("say hi again")
    assert fake_openai.count == 1 and lm.accountant.stage("generate").requests == 1


def test_optimize_stops_cleanly_at_max_requests(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = _chat_answers(good_drafts())
    work = make_workdir(tmp_path)
    out = tmp_path / "program.json"
    summary = run_optimize(work, OptimizeConfig(domain="demo", out=out, train=3, max_demos=1,
                                                model="openai/fake-model", api_base=fake_openai.base_url,
                                                api_key="sk-test", max_requests=4))
    assert fake_openai.count == 4 and summary["stopped"] == "budget: max_requests=4 reached"
    assert summary["usage"]["stages"]["optimize"]["requests"] == 4 and out.is_file()
    assert summary["score_before"] is not None


def test_dspy_parse_failure_is_a_counted_reask_then_a_reject(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    drafts = good_drafts()
    fake_openai.default = _chat_answers(drafts)
    # one chain at a time (one task wanted): for the first slot neither the ChatAdapter's answer nor the
    # one its JSON fallback asks again for parses (a rejected candidate, not a crash); for the second the
    # fallback's answer does (a re-ask, then accepted)
    fake_openai.script(raw("no fields here"), raw("still nothing"), raw("nothing either"),
                       raw(json.dumps({"task": drafts[0]})))
    summary = run_generate(make_workdir(tmp_path), _http_config(fake_openai, per_cluster=1, attempts=2))
    usage = summary["usage"]["stages"]["generate"]
    assert fake_openai.count == 4 and usage["requests"] == 4 and usage["calls"] == 4 and usage["reasks"] == 2
    assert summary["accepted"] == 1 and summary["rejected_by_reason"] == {"invalid_spec": 1}


def test_dspy_prompts_are_redacted_like_the_seams(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from clawloop_synth.generate.dspy_gen import DSPyGenerator

    fake_openai.default = _chat_answers(good_drafts())
    generator = DSPyGenerator(LLM(LLMConfig("openai/fake-model", api_base=fake_openai.base_url, api_key="sk-test")))
    secret = [{"role": "system", "content": "s"},
              {"role": "user", "content": "variation 1 of: mail jane.doe@example.com, key sk-abcdefghijklmnopqrstuvwx"}]
    asyncio.run(generator.ask(secret, 0))
    sent = json.dumps(fake_openai.requests[0]["messages"])
    assert "jane.doe@example.com" not in sent and "sk-abcdefghijklmnopqrstuvwx" not in sent
    redacted = generator.llm.usage_summary()["stages"]["generate"]["redacted"]
    assert redacted == {"API_KEY": 1, "EMAIL": 1}, redacted


def test_dspy_requests_never_pass_the_cost_budget(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """Each DSPy attempt holds its worst case while in flight, as the seam's own requests do: without that, the
    request sent when the spend is just under the budget (or several sent at once) pass it."""
    import threading

    from clawloop_synth.generate.dspy_gen import make_lm
    from clawloop_synth.llm import BudgetExceeded, model_prices

    assert model_prices("openai/gpt-4o-mini") is not None
    long = "Cancel reservation ABC123 and explain every fee. " * 160  # ~2,000 completion tokens
    fake_openai.default = raw(f"[[ ## task ## ]]\n{json.dumps(long)}\n\n[[ ## completed ## ]]")
    budget = 0.004
    lm = make_lm(LLMConfig("openai/gpt-4o-mini", api_base=fake_openai.base_url, api_key="sk-test", max_cost=budget,
                           max_tokens=3000))
    stopped: list[BaseException] = []

    def ask(worker: int) -> None:
        for n in range(10):
            try:
                lm(f"worker {worker} request {n}")
            except BudgetExceeded as exc:
                stopped.append(exc)
                return

    threads = [threading.Thread(target=ask, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    spent = lm.accountant.total.cost
    assert stopped and fake_openai.count >= 1 and spent > 0
    assert spent <= budget, (spent, budget)
    assert lm.accountant.reserved == pytest.approx(0.0)
