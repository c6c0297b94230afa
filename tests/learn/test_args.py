"""Arrays are filled item by item: the learner learns how many items and keeps each item's fields together."""

from __future__ import annotations

import json
import random

import numpy as np

from clawloop_synth.learn.args import ArgFiller
from clawloop_synth.learn.features import DIM, Episode
from clawloop_synth.learn.linear import Decision, score, update
from tests.learn.labels import fill_labels, train_on_fills

_SCHEMA = {"type": "object", "required": ["legs"], "properties": {
    "legs": {"type": "array", "items": {"type": "object", "required": ["code", "day"], "properties": {
        "code": {"type": "string"}, "day": {"type": "string"}}}}}}


def _episode(rng: random.Random, n_named: int) -> tuple[Episode, list[dict[str, str]]]:
    """A lookup listing five legs, of which the instruction names ``n_named`` by code; the rest are distractors."""
    legs = [{"code": f"Q{rng.randrange(100, 999)}{c}", "day": f"2031-0{rng.randrange(1, 9)}-1{i}"}
            for i, c in enumerate("ABCDE")]
    named = rng.sample(legs, n_named)
    text = "Please take " + " and then ".join(leg["code"] for leg in named) + "."
    ep = Episode(text, {"lookup": {}, "take": {"parameters": _SCHEMA}}, {"take": True})
    ep.add("lookup", {}, json.dumps(legs), False)
    return ep, named


def _train(w: np.ndarray, rng: random.Random, episodes: int) -> None:
    cases = (_episode(rng, rng.choice([1, 2, 3])) for _ in range(episodes))
    train_on_fills(w, ((ep, {"legs": named}) for ep, named in cases), _SCHEMA)


def test_the_item_count_and_each_items_fields_are_learned() -> None:
    rng = random.Random(0)
    w = np.zeros(DIM)
    _train(w, rng, 60)

    def greedy(feats: list[np.ndarray], target: int | None) -> int:
        return int(np.argmax(score(w, feats)))

    right = 0
    for _ in range(20):
        n = rng.choice([1, 2, 3])
        ep, named = _episode(rng, n)
        got = ArgFiller(ep, "take", {}, greedy).fill(_SCHEMA)
        right += got == {"legs": named}
    # two and three items need the another-item decision; the day must come from the named leg's own record
    assert right >= 18, right


def test_a_labelled_fill_records_one_decision_per_item_and_the_stop() -> None:
    rng = random.Random(1)
    ep, named = _episode(rng, 2)
    seen = fill_labels(ep, _SCHEMA, {"legs": named})
    # the lookup lists whole legs: item 0 is one of them (a chunk, not slot by slot: index 0 is "by slot");
    # another? yes; item 1: a chunk; another? no
    assert len(seen) == 4 and seen[0] and seen[1] == 1 and seen[2] and seen[3] == 0, seen

    # results without whole items (a field is missing): every item is built slot by slot
    for leg in named:
        leg["note"] = "x"
    schema = json.loads(json.dumps(_SCHEMA))
    schema["properties"]["legs"]["items"]["properties"]["note"] = {"type": "string"}
    schema["properties"]["legs"]["items"]["required"].append("note")
    seen = fill_labels(ep, schema, {"legs": named})
    # item 0: code, day, note; another? yes; item 1: code, day, note; another? no
    assert len(seen) == 8 and seen[3] == 1 and seen[7] == 0, seen


def test_a_timestamps_date_is_a_value_of_its_own() -> None:
    """A question about a day ("on which date did I book it") is answered from a timestamp's date part."""
    ep = Episode("When did I book it?", {"look": {}}, {})
    ep.add("look", {}, json.dumps({"made_at": "2031-04-05T07:16:09", "code": "X1"}), False)
    got = {(lf.key, lf.value) for lf in ep.leaves()}
    assert ("made_at#date", "2031-04-05") in got and ("made_at", "2031-04-05T07:16:09") in got


def test_a_number_the_demonstrations_send_again_and_again_is_a_candidate() -> None:
    """A fixed amount (named by no instruction and no result) is learned from the demonstrations."""
    from clawloop_synth.learn.policy import PolicyLearner
    from clawloop_synth.learn.view import Demonstration, TaskView
    from clawloop_synth.types import PlannedCall

    schema = {"type": "object", "required": ["who", "amount"], "properties": {
        "who": {"type": "string"}, "amount": {"type": "integer"}}}
    views = [TaskView(id=f"t{i}", domain="x", instruction="pay me", tools=[],
                      demonstration=Demonstration(calls=[PlannedCall(name="grant", arguments={
                          "who": f"u_{i}", "amount": 100})])) for i in range(4)]
    learner = PolicyLearner()
    learner._collect_constants(views)
    rng, w, data = random.Random(2), np.zeros(DIM), []

    def episode() -> tuple[Episode, str]:
        who = f"user_{rng.randrange(100, 999)}"
        ep = Episode(f"I am {who}; my flight was late. What do I get?", {"grant": {"parameters": schema}}, {})
        ep.add("look", {"who": who}, json.dumps({"who": who, "late_minutes": rng.randrange(30, 90)}), False)
        return ep, who

    def force(feats: list[np.ndarray], target: int | None) -> int:
        assert target is not None
        if target >= 0:
            data.append(Decision("pick", feats, target))
        return target

    for _ in range(20):
        ep, who = episode()
        ArgFiller(ep, "grant", learner.consts, force).fill(schema, {"who": who, "amount": 100})
    for epoch in range(4):
        update(w, data, 0.3 / (1 + epoch))
    ep, who = episode()
    got = ArgFiller(ep, "grant", learner.consts, lambda f, t: int(np.argmax(score(w, f)))).fill(schema)
    assert got == {"who": who, "amount": 100}
