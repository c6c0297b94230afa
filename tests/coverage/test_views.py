"""The coverage view: intent words, per-facet weighted embedding, and the random baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clawloop_synth.coverage.views import FACETS, TextView, embed_views, intent_words
from clawloop_synth.embed import HashingEmbedder

PERSONA = ("You are mia_li_3668. You want to cancel the reservation ZFA04Y from New York to Seattle on "
           "2024-05-20. You do not want insurance. Pay with your 7447 card.")
REQUEST = "Hi, I'm Amelia Ito and my user id is amelia_ito_8544. Could you cancel my reservation K4J0ER, please?"


def test_intent_words_keep_the_request_and_type_the_entities() -> None:
    assert intent_words(PERSONA) == ("<ID> want cancel reservation <ID> <NAME> <NAME> <DATE> not want insuranc "
                                     "pay <NUM> card")
    assert intent_words(REQUEST) == "<NAME> <ID> cancel reservation <ID>"
    folded = intent_words("Bags: 2 bags, 3 baggages; cancelled, cancelling.")
    assert folded == "bag <NUM> bag <NUM> baggag cancel cancel"
    assert intent_words(None) == ""
    assert len(intent_words(" ".join(["flight"] * 500)).split()) == 80


def test_persona_and_request_of_the_same_intent_share_more_words_than_the_raw_text() -> None:
    def jaccard(a: str, b: str) -> float:
        x, y = set(a.lower().split()), set(b.lower().split())
        return len(x & y) / len(x | y)

    assert jaccard(intent_words(PERSONA), intent_words(REQUEST)) > 2 * jaccard(PERSONA, REQUEST)


def _view(key: str, goal: str, calls: tuple[str, ...], writes: tuple[str, ...], codes: tuple[str, ...]) -> TextView:
    return TextView(key, goal, calls, writes, codes)


def test_embedding_is_the_weighted_mean_of_facet_cosines() -> None:
    emb = HashingEmbedder(dim=256)
    a = _view("a", "cancel reservation", ("get_user", "cancel"), ("cancel",), ("agent/action/missing_action",))
    b = _view("b", "book flight economy", ("search", "book"), ("book",), ("agent/action/missing_action",))
    x = embed_views([a, b], emb.embed)
    assert x.shape == (2, 4 * 256)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    fa, fb = a.facets(), b.facets()
    expected = sum(w * float(emb.embed([fa[n]])[0] @ emb.embed([fb[n]])[0]) for n, w in FACETS.items())
    assert float(x[0] @ x[1]) == pytest.approx(expected, abs=1e-5)
    # A zero weight drops the facet; only the failures facet left, the two views are identical.
    only = embed_views([a, b], emb.embed, {"failures": 1.0})
    assert float(only[0] @ only[1]) == pytest.approx(1.0, abs=1e-6)


def test_empty_facets_render_as_none_and_match() -> None:
    emb = HashingEmbedder(dim=64)
    x = embed_views([_view("a", "", (), (), ()), _view("b", "", (), (), ())], emb.embed)
    assert float(x[0] @ x[1]) == pytest.approx(1.0, abs=1e-6)


def test_random_baseline_builds_untargeted_demo_tasks(tmp_path: Path) -> None:
    from clawloop_synth.coverage.baseline import baseline_tasks
    from clawloop_synth.sim.pack import load_pack

    pack = load_pack("demo")
    tasks, _ = baseline_tasks("demo", pack, pack.load_state(), [], 6, seed=1)
    assert len(tasks) == 6 and len({t.instruction for t in tasks}) == 6
    assert all(t.target_cluster is None and t.target_code is None and t.failure_exemplar is None for t in tasks)
    assert all(t.reference.calls and t.provenance.generator == "random-baseline" for t in tasks)
    again, _ = baseline_tasks("demo", pack, pack.load_state(), [], 6, seed=1)
    assert [t.instruction for t in again] == [t.instruction for t in tasks]


def test_same_intent_and_structure_embed_nearer_than_another_intent() -> None:
    from clawloop_synth.coverage.views import task_view, trace_view
    from clawloop_synth.types import Message, PlannedCall, Provenance, Solution, TaskSpec, ToolCall, ToolSpec, Trace

    def spec(name: str, writes: bool) -> ToolSpec:
        return ToolSpec(name=name, description="", parameters={"type": "object"},
                        handler="def invoke(state):\n  return {}", writes=writes)

    tools = [spec("get_user_details", False), spec("get_reservation_details", False),
             spec("cancel_reservation", True), spec("book_reservation", True)]

    def task(i: int, instruction: str, calls: list[str]) -> TaskSpec:
        return TaskSpec(id=f"t{i}", domain="airline", instruction=instruction, tools=tools, initial_state={},
                        reference=Solution(calls=[PlannedCall(name=c) for c in calls]),
                        provenance=Provenance(generator="test"))

    messages = [Message(role="user", content="hi")]
    for j, name in enumerate(["get_user_details", "get_reservation_details", "cancel_reservation"]):
        messages += [Message(role="assistant", tool_calls=[ToolCall(id=f"c{j}", name=name)]),
                     Message(role="tool", tool_call_id=f"c{j}", name=name, content="{}")]
    real = trace_view(Trace(id="r", source="tau_bench", instruction=PERSONA, messages=messages),
                      writes={"cancel_reservation", "book_reservation"})
    same = task_view(task(0, REQUEST, ["get_user_details", "get_reservation_details", "cancel_reservation"]))
    other = task_view(task(1, "Hello! This is Olivia Anderson (user id olivia_anderson_8651). Please book a one-way "
                              "economy flight from PHX to IAH on 2024-05-28 for just me.",
                           ["get_user_details", "book_reservation"]))
    x = embed_views([real, same, other], HashingEmbedder().embed)
    assert float(x[0] @ x[1]) > float(x[0] @ x[2]) + 0.2
