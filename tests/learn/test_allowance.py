"""A count less an allowance: the rate per unit is learned from the facts it turns on, and answers keep every
place a value is listed."""

from __future__ import annotations

import json
import random

import numpy as np

from clawloop_synth.learn.allowance import allowance_candidates, context_facts, unit_counts
from clawloop_synth.learn.args import ArgFiller
from clawloop_synth.learn.features import DIM, Episode
from clawloop_synth.learn.linear import score
from clawloop_synth.learn.policy import PolicyLearner
from tests.learn.labels import train_on_fills

# An invented world: a member's tier and a room's grade set how many crates each guest brings free
_RATE = {("tin", "plain"): 0, ("tin", "grand"): 1, ("jade", "plain"): 1, ("jade", "grand"): 3}
_SCHEMA = {"type": "object", "required": ["grade", "guests", "crates", "paid_crates"], "properties": {
    "grade": {"type": "string", "enum": ["plain", "grand"]},
    "guests": {"type": "array", "items": {"type": "string"}},
    "crates": {"type": "integer"}, "paid_crates": {"type": "integer"}}}


def _case(rng: random.Random) -> tuple[Episode, dict[str, object]]:
    tier, grade = rng.choice(["tin", "jade"]), rng.choice(["plain", "grand"])
    guests = rng.sample(["Ana Moor", "Bo Lind", "Cy Park"], rng.choice([1, 2, 3]))
    crates = rng.randrange(0, 8)
    text = f"Room {grade} for {' and '.join(guests)}, with {crates} crates in all."
    ep = Episode(text, {"profile": {}, "take": {"parameters": _SCHEMA}}, {"take": True})
    ep.add("profile", {}, json.dumps({"tier": tier, "city": "Oldtown", "guests": guests}), False)
    paid = max(0, crates - _RATE[(tier, grade)] * len(guests))
    return ep, {"grade": grade, "guests": guests, "crates": crates, "paid_crates": paid}


def test_the_candidates_are_the_count_less_each_rate_per_unit() -> None:
    got = allowance_candidates({"crates": 5}, {"arg:guests[]": 2}, ["tier=jade"])
    assert [v for v, _ in got] == [5, 3, 1, 0]  # rates 0..3: the rate that reaches 0 is the last
    assert "rate>=2|tier=jade" in got[2][1] and "rate>=3|tier=jade" not in got[2][1]


def test_facts_are_one_valued_categories_and_units_are_arrays_and_lists() -> None:
    ep = Episode("x", {"look": {}}, {})
    ep.add("look", {}, json.dumps({"tier": "jade", "city": "Oldtown", "rooms": [{"grade": "plain"},
                                                                              {"grade": "grand"}]}), False)
    facts = context_facts(ep, {"grade": "grand", "code": "K9"})
    assert "tier=jade" in facts and "grade=grand" in facts  # one-valued category; this call's own choice
    assert not any(f.startswith("city=") for f in facts)  # a place name is not a category
    assert sum(f.startswith("grade=") for f in facts) == 1  # the result's two grades say nothing
    assert unit_counts(ep, {"guests[]": 3}) == {"arg:guests[]": 3, "res:look.rooms[]": 2}


def test_the_rate_per_unit_is_learned_from_the_facts() -> None:
    rng = random.Random(0)
    w = np.zeros(DIM)
    train_on_fills(w, (_case(rng) for _ in range(240)), _SCHEMA)

    def greedy(feats: list[np.ndarray], target: int | None) -> int:
        return int(np.argmax(score(w, feats)))

    right, total = 0, 0
    for _ in range(60):
        ep, wanted = _case(rng)
        got = ArgFiller(ep, "take", {}, greedy).fill(_SCHEMA)
        right += got["paid_crates"] == wanted["paid_crates"]
        total += 1
    # a constant rate gets at most the cases where the guests' crates fit any allowance; the lookup gets nearly all
    assert right >= 0.9 * total, (right, total)


def test_an_answer_value_listed_twice_has_the_features_of_both_places() -> None:
    ep = Episode("Book it and tell me the total.", {"book": {}}, {"book": True})
    ep.add("book", {"pay": 1}, "Error: the total is 65, not 1", True)
    ep.add("book", {"pay": 65}, json.dumps({"code": "Q1", "paid": [{"amount": 65}]}), False)
    values, feats, _ = PolicyLearner()._answer_feats(ep)
    assert values.count(65) == 1
    alone = Episode("Book it and tell me the total.", {"book": {}}, {"book": True})
    alone.add("book", {"pay": 65}, json.dumps({"code": "Q1", "paid": [{"amount": 65}]}), False)
    values_alone, feats_alone, _ = PolicyLearner()._answer_feats(alone)
    both, one = feats[values.index(65)], feats_alone[values_alone.index(65)]
    # the write result's features are all there, and the error's mention adds its own
    assert set(one.tolist()) <= set(both.tolist()) and len(set(both.tolist())) > len(set(one.tolist()))
