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
