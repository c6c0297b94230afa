"""LLM localization and cluster naming over real HTTP against the scripted local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawloop_synth.llm import render_prompt
from clawloop_synth.mine.llm import llm_localize, localize_messages, name_messages
from clawloop_synth.mine.stage import run_cluster
from clawloop_synth.mine.taxonomy import load_taxonomy
from clawloop_synth.store import load_records, save_records
from clawloop_synth.types import Failure, FailureCluster, Message
from tests.fake_openai import FakeOpenAI, error, ok, raw

from .helpers import trace

GOOD = {"agent": "WebSurfer", "step": 2, "code": "agent/planning/goal_deviation", "reason": "clicked an ad"}


def _log():  # type: ignore[no-untyped-def]
    return trace([Message(role="assistant", name="Orchestrator", content="Ask WebSurfer to search."),
                  Message(role="assistant", name="WebSurfer", content="I clicked an unrelated advert."),
                  Message(role="assistant", name="Orchestrator", content="Final answer: 42")],
                 instruction="What is the answer?")


def test_prompts_render_with_strict_variables() -> None:
    t = _log()
    text = localize_messages(t)[0]["content"]
    assert "[step 2] WebSurfer: I clicked an unrelated advert." in text
    assert all(code in text for code in load_taxonomy())
    f = Failure(id="x#0", trace_id="x", step=1, code="agent/action/wrong_argument", signal="gold_diff",
                card="agent/action/wrong_argument | book | wrong value for argument payment_methods")
    assert "payment_methods" in name_messages([f], ["payment_methods"])[0]["content"]
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render_prompt("label_cluster", cards=[])


def test_llm_localize_over_http_retries_and_reasks(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        # a 500, then an answer with a code outside the taxonomy (re-asked), then a good one
        server.script(error(500), ok({**GOOD, "code": "agent/made/up"}), ok(GOOD))
        where = llm_localize(_log(), "openai/fake", api_base=server.base_url, api_key="sk-test",
                             retry_wait=0.01, retry_max_wait=0.02)
        assert where is not None and (where.agent, where.step, where.code) == ("WebSurfer", 2, GOOD["code"])
        assert server.count == 3
        sent = server.requests[-1]["messages"]
        assert any("not a taxonomy code" in (m.get("content") or "") for m in sent)


def test_llm_localize_clamps_the_step_and_survives_malformed_json() -> None:
    with FakeOpenAI() as server:
        server.script(raw("{not json"), ok({**GOOD, "step": 99}))
        where = llm_localize(_log(), "openai/fake", api_base=server.base_url, api_key="sk-test", retry_wait=0.01)
        assert where is not None and where.step == 3


def test_cluster_names_from_the_llm(tmp_path: Path) -> None:
    failures = [Failure(id=f"t{n}#0", trace_id=f"t{n}", step=1, code="agent/action/insufficient_balance",
                        signal="error_result", tool="book", card="agent/action/insufficient_balance | book | "
                        "Error: gift card balance is not enough") for n in range(4)]
    save_records(tmp_path / "failures", failures)
    answer = {"label": "pays with an empty gift card", "codes": ["agent/action/insufficient_balance"]}
    with FakeOpenAI(ok(answer)) as server:
        summary = run_cluster(tmp_path, k=1, llm_model="openai/fake", llm_api_base=server.base_url)
        assert server.count == 1
    assert summary["labels"] == "llm"
    (cluster,) = load_records(tmp_path / "clusters", FailureCluster)
    assert cluster.label == answer["label"] and cluster.codes == answer["codes"]
    assert json.loads((tmp_path / "cluster.json").read_text())["clusters"][0]["label"] == answer["label"]
