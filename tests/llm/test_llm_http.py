"""The LLM seam over real HTTP against the scripted OpenAI-compatible server (tests/fake_openai.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from clawloop_synth.llm import (
    LLM,
    BudgetExceeded,
    LLMConfig,
    LLMError,
    Request,
    Result,
    StructuredOutputError,
    model_prices,
)
from tests.fake_openai import FakeOpenAI, error, ok, raw, slow


class Call(BaseModel):
    name: str
    arguments: dict[str, Any] = {}


class MiniTask(BaseModel):
    instruction: str
    calls: list[Call]


GOOD = {"instruction": "Cancel reservation ABC123", "calls": [{"name": "cancel", "arguments": {"id": "ABC123"}}]}
PROMPT = [{"role": "system", "content": "You write tasks."}, {"role": "user", "content": "Write one task."}]


def make(server: FakeOpenAI, **overrides: Any) -> LLM:
    settings: dict[str, Any] = {"model": "openai/fake-model", "api_base": server.base_url, "api_key": "sk-test",
                                "retry_wait": 0.01, "retry_max_wait": 0.05, "timeout": 5.0}
    settings.update(overrides)
    return LLM(LLMConfig(**settings))


def collect(llm: LLM, requests: list[Request[MiniTask]]) -> tuple[list[Result[MiniTask]], BaseException | None]:
    """Drain ``amap``; return what was yielded and the exception that ended it, if any."""
    out: list[Result[MiniTask]] = []

    async def run() -> BaseException | None:
        try:
            async for result in llm.amap(requests):
                out.append(result)
        except BudgetExceeded as exc:
            return exc
        finally:
            await llm.aclose()
        return None

    return out, asyncio.run(run())


@pytest.mark.parametrize("model", ["openai/fake-model", "hosted_vllm/fake-model"])
def test_valid_answer_is_parsed_in_json_mode(fake_openai: FakeOpenAI, model: str) -> None:
    fake_openai.script(ok(GOOD))
    llm = make(fake_openai, model=model)
    task = llm.structured(PROMPT, MiniTask, stage="generate")
    assert type(task) is MiniTask and task == MiniTask.model_validate(GOOD)
    body = fake_openai.requests[0]
    assert body["model"] == "fake-model"  # provider prefix stripped for the OpenAI-compatible server
    assert body["response_format"] == {"type": "json_object"}
    assert "MiniTask" in json.dumps(body["messages"])  # instructor put the schema in the prompt
    usage = llm.usage["generate"]
    assert (usage.calls, usage.requests, usage.reasks, usage.retries) == (1, 1, 0, 0)
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert llm.cost_known is False and usage.cost == 0.0
    assert "not in litellm's cost map" in llm.usage_summary()["cost_note"]


def test_tools_mode_answers_through_a_tool_call(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(ok(GOOD))
    task = make(fake_openai, mode="tools").structured(PROMPT, MiniTask, stage="generate")
    assert task == MiniTask.model_validate(GOOD)
    assert fake_openai.requests[0]["tools"][0]["function"]["name"] == "MiniTask"


def test_malformed_json_is_reasked_with_the_error_then_accepted(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(raw('{"instruction": "oops", "calls": [}'), ok({"instruction": "no calls"}), ok(GOOD))
    llm = make(fake_openai)
    assert llm.structured(PROMPT, MiniTask, stage="generate") == MiniTask.model_validate(GOOD)
    assert fake_openai.count == 3
    second = json.dumps(fake_openai.requests[1]["messages"])
    assert "Invalid JSON" in second  # the parse error went back to the model
    third = json.dumps(fake_openai.requests[2]["messages"])
    assert "calls" in third and "Field required" in third  # and then the schema error
    assert llm.usage["generate"].reasks == 2


def test_reasks_are_bounded(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = raw("not json at all")
    llm = make(fake_openai, max_reasks=2)
    with pytest.raises(StructuredOutputError):
        llm.structured(PROMPT, MiniTask, stage="generate")
    assert fake_openai.count == 3
    assert llm.usage["generate"].failures == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried_with_backoff(fake_openai: FakeOpenAI, status: int) -> None:
    fake_openai.script(error(status), error(status, retry_after=0.01), ok(GOOD))
    llm = make(fake_openai)
    assert llm.structured(PROMPT, MiniTask, stage="generate") == MiniTask.model_validate(GOOD)
    assert fake_openai.count == 3
    usage = llm.usage["generate"]
    assert (usage.requests, usage.retries, usage.reasks) == (3, 2, 0)


def test_retries_are_bounded_and_client_errors_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = error(500)
    with pytest.raises(LLMError, match="500"):
        make(fake_openai, max_retries=2).structured(PROMPT, MiniTask, stage="generate")
    assert fake_openai.count == 3
    fake_openai.reset()
    fake_openai.default = error(400)
    with pytest.raises(LLMError, match="400"):
        make(fake_openai).structured(PROMPT, MiniTask, stage="generate")
    assert fake_openai.count == 1


def test_a_response_slower_than_the_timeout_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(slow(3.0, GOOD), ok(GOOD))
    llm = make(fake_openai, timeout=0.3)
    assert llm.structured(PROMPT, MiniTask, stage="generate") == MiniTask.model_validate(GOOD)
    assert fake_openai.count == 2
    assert llm.usage["generate"].retries == 1


def test_request_budget_stops_cleanly_and_keeps_results(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = ok(GOOD)
    llm = make(fake_openai, max_requests=3, concurrency=1)
    requests = [Request(PROMPT, MiniTask, stage="generate", key=i, variant=i) for i in range(10)]
    results, stopped = collect(llm, requests)
    assert isinstance(stopped, BudgetExceeded)
    assert [r.value for r in results] == [MiniTask.model_validate(GOOD)] * 3
    assert sorted(r.request.key for r in results) == [0, 1, 2]
    assert fake_openai.count == 3
    with pytest.raises(BudgetExceeded):  # and it stays stopped: nothing more is sent
        llm.structured(PROMPT, MiniTask, stage="generate", variant=99)
    assert fake_openai.count == 3
    assert llm.usage_summary()["budget_exceeded"] == "max_requests=3 reached"


def test_cost_budget_uses_litellm_prices(fake_openai: FakeOpenAI) -> None:
    prices = model_prices("openai/gpt-4o-mini")
    assert prices is not None and prices[0] > 0
    fake_openai.default = ok(GOOD)
    # Each request holds its worst case (4,096 completion tokens here) while in flight: room for
    # one at a time, so the spend stops below the budget instead of passing it.
    budget = 1.5 * 4096 * prices[1]
    llm = make(fake_openai, model="openai/gpt-4o-mini", max_cost=budget, concurrency=4)
    results, stopped = collect(llm, [Request(PROMPT, MiniTask, stage="generate", variant=i) for i in range(200)])
    assert isinstance(stopped, BudgetExceeded) and len(results) >= 2 and all(r.error is None for r in results)
    assert llm.total.cost <= budget
    usage = llm.usage["generate"]
    assert usage.cost == pytest.approx(usage.prompt_tokens * prices[0] + usage.completion_tokens * prices[1])
    assert llm.cost_known and fake_openai.count == len(results)
    assert fake_openai.max_in_flight == 1 and all(body["max_tokens"] == 4096 for body in fake_openai.requests)
    results_before = list(fake_openai.requests)
    tiny = make(fake_openai, model="openai/gpt-4o-mini", max_cost=1e-9, concurrency=4)
    results, stopped = collect(tiny, [Request(PROMPT, MiniTask, stage="generate", variant=i) for i in range(5)])
    assert isinstance(stopped, BudgetExceeded) and results == [] and fake_openai.count == len(results_before)


def test_rerun_is_served_from_the_disk_cache(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.default = lambda body: ok({**GOOD, "instruction": body["messages"][-1]["content"]})
    prompts = [[{"role": "user", "content": f"task {i}"}] for i in range(6)]
    first = make(fake_openai, cache_dir=tmp_path)
    answers = [first.structured(p, MiniTask, stage="generate") for p in prompts]
    assert fake_openai.count == 6
    with FakeOpenAI(error(500)) as other:  # a fresh process against another address: same model
        again = make(other, cache_dir=tmp_path)
        results, _ = collect(again, [Request(p, MiniTask, stage="generate") for p in prompts])
        assert other.count == 0
    assert sorted(r.value.instruction for r in results if r.value) == sorted(a.instruction for a in answers)
    assert again.usage["generate"].cache_hits == 6 and again.usage["generate"].requests == 0
    make(fake_openai, cache_dir=tmp_path).structured(prompts[0], MiniTask, stage="generate", variant=1)
    assert fake_openai.count == 7  # another variant of the same prompt is a new request


def test_concurrency_is_bounded_and_used(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = ok(GOOD)
    fake_openai.delay = 0.2
    llm = make(fake_openai, concurrency=5)
    results, stopped = collect(llm, [Request(PROMPT, MiniTask, stage="g", variant=i) for i in range(15)])
    assert stopped is None and len(results) == 15 and all(r.value for r in results)
    assert 2 <= fake_openai.max_in_flight <= 5


def test_failed_calls_are_yielded_with_their_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = lambda body: raw("junk") if "bad" in body["messages"][-1]["content"] else ok(GOOD)
    llm = make(fake_openai, max_reasks=0)
    requests = [Request([{"role": "user", "content": word}], MiniTask, stage="g", key=word)
                for word in ("good", "bad", "fine")]
    results, stopped = collect(llm, requests)
    by_key = {r.request.key: r for r in results}
    assert stopped is None and set(by_key) == {"good", "bad", "fine"}
    assert isinstance(by_key["bad"].error, StructuredOutputError) and by_key["good"].value is not None


def test_dry_run_estimate_sends_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    llm = make(fake_openai, model="openai/gpt-4o-mini", cache_dir=tmp_path, max_tokens=200)
    prompts = [[{"role": "user", "content": f"task {i} " * 50}] for i in range(3)]
    estimate = llm.estimate(prompts, MiniTask)
    assert fake_openai.count == 0
    assert estimate["requests"] == 3 and estimate["cached"] == 0
    assert estimate["prompt_tokens"] > 3 * 100  # the prompt, plus the schema instructor adds
    assert estimate["completion_tokens"] == 600 and estimate["cost"] > 0 and estimate["cost_known"]
    fake_openai.default = ok(GOOD)
    llm.structured(prompts[0], MiniTask, stage="g")
    assert llm.estimate(prompts, MiniTask)["cached"] == 1


def test_litellm_path_for_other_providers(fake_openai: FakeOpenAI) -> None:
    """With the fast path off the same call goes through litellm.acompletion, retries included."""
    fake_openai.script(error(500), raw("{"), ok(GOOD))
    llm = make(fake_openai, fast_path=False)
    assert llm.structured(PROMPT, MiniTask, stage="generate") == MiniTask.model_validate(GOOD)
    assert fake_openai.count == 3 and fake_openai.requests[0]["model"] == "fake-model"
    usage = llm.usage["generate"]
    assert (usage.retries, usage.reasks) == (1, 1)


@pytest.mark.parametrize("mode", ["json", "tools", "md_json"])
def test_driving_instructors_handlers_sends_what_its_client_sends(fake_openai: FakeOpenAI, mode: str) -> None:
    """The seam drives instructor's mode handlers itself (less CPU per call); requests, re-asks, the
    accepted answer and the final error must be the ones instructor's own client produces."""
    script = [raw('{"instruction": "oops", "calls": [}'), ok({"instruction": "no calls"}), ok(GOOD)]
    bodies, answers = [], []
    for direct in (True, False):
        fake_openai.reset()
        fake_openai.script(*script)
        llm = make(fake_openai, mode=mode)
        if not direct:
            llm._handlers_looked_up = True  # no handlers: instructor's client, as before
        answers.append(llm.structured(PROMPT, MiniTask, stage="generate"))
        assert (llm._handlers is not None) == direct
        bodies.append(list(fake_openai.requests))
    assert answers[0] == answers[1] == MiniTask.model_validate(GOOD)
    assert len(bodies[0]) == 3 and bodies[0] == bodies[1]
    errors = []
    for direct in (True, False):
        fake_openai.reset()
        fake_openai.default = raw("not json at all")
        llm = make(fake_openai, mode=mode, max_reasks=1)
        if not direct:
            llm._handlers_looked_up = True
        with pytest.raises(StructuredOutputError) as caught:
            llm.structured(PROMPT, MiniTask, stage="generate")
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("mode", ["json", "tools", "md_json", "json_schema"])
def test_templated_request_preparation_equals_instructors(mode: str) -> None:
    """Requests prepared from a per-shape template equal instructor's ``prepare_request`` every time."""
    from clawloop_synth.llm._structured import handlers_for, prepared_model

    llm = LLM(LLMConfig("openai/fake-model", mode=mode))
    handlers = handlers_for(llm._client())
    assert handlers is not None
    model = prepared_model(llm._schema(MiniTask)[0])
    shapes = [PROMPT, [{"role": "user", "content": "only a user turn"}],
              [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"},
               {"role": "user", "content": "u2"}]]
    for messages in shapes:
        for n in range(3):  # the first call of a shape builds the template, the next ones use it
            varied = [{**m, "content": f"{m['content']} #{n} {{x}} \\u00e9"} for m in messages]
            kwargs = {"model": "openai/fake-model", "messages": varied, "temperature": 0.7}
            assert handlers.prepare(model, kwargs) == handlers._prepare(response_model=model, kwargs=dict(kwargs))
