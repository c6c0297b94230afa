"""LLM-server faults (issue 14): answers that are no chat completion are retried like a 5xx, and
the cost budget is hard whatever the server does (429s, 500s, answers slower than the timeout)."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from clawloop_synth.llm import BudgetExceeded, Request, model_prices
from tests.fake_openai import Behaviour, FakeOpenAI, error, html, no_choices, ok, slow
from tests.llm.test_llm_http import GOOD, PROMPT, MiniTask, collect, make


@pytest.mark.parametrize("fault", [no_choices, html], ids=["empty-choices", "html-body"])
def test_an_answer_that_is_not_a_completion_is_retried(fake_openai: FakeOpenAI, fault: Any) -> None:
    fake_openai.default = ok(GOOD)
    fake_openai.script(fault(), fault())
    llm = make(fake_openai)
    value = llm.structured(PROMPT, MiniTask, stage="generate")
    assert value == MiniTask.model_validate(GOOD)
    usage = llm.usage["generate"]
    assert usage.retries == 2 and usage.requests == 3 and usage.reasks == 0 and usage.failures == 0


def test_an_answer_that_never_becomes_a_completion_fails_the_call(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = no_choices()
    llm = make(fake_openai, max_retries=2)
    results, stopped = collect(llm, [Request(PROMPT, MiniTask, stage="generate")])
    assert stopped is None and results[0].error is not None and "no choices" in str(results[0].error)
    assert fake_openai.count == 3


BIG = {**GOOD, "instruction": "Cancel reservation ABC123 and explain every fee. " * 160}  # ~2,000 tokens


@pytest.mark.parametrize("fault", ["429", "500", "slow"])
def test_the_cost_budget_is_never_passed(fake_openai: FakeOpenAI, fault: str) -> None:
    prices = model_prices("openai/gpt-4o-mini")
    assert prices is not None
    counter = itertools.count()
    lock = threading.Lock()

    def respond(body: dict[str, Any]) -> Behaviour:
        with lock:
            n = next(counter)
        if n % 3 == 1:
            return {"429": error(429, retry_after=0.01), "500": error(500), "slow": slow(2.0, BIG)}[fault]
        return ok(BIG)

    fake_openai.default = respond
    budget = 0.004
    llm = make(fake_openai, model="openai/gpt-4o-mini", max_cost=budget, concurrency=4, timeout=0.5)
    results, stopped = collect(llm, [Request(PROMPT, MiniTask, stage="generate", variant=i) for i in range(40)])
    spent = llm.total.cost
    assert isinstance(stopped, BudgetExceeded)
    assert sum(r.value is not None for r in results) >= 1 and spent > 0
    assert spent <= budget, (spent, budget)
    assert llm._accountant.reserved == pytest.approx(0.0)
