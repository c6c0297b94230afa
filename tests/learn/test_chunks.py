"""Array items copied whole from earlier results: one listed object, a group listed together, one per search."""

from __future__ import annotations

import json
import random

import numpy as np

from clawloop_synth.learn.args import ArgFiller
from clawloop_synth.learn.features import DIM, Episode
from clawloop_synth.learn.linear import score
from tests.learn.labels import fill_labels, train_on_fills

_SCHEMA = {"type": "object", "required": ["hops"], "properties": {
    "hops": {"type": "array", "items": {"type": "object", "required": ["code", "day"], "properties": {
        "code": {"type": "string"}, "day": {"type": "string"}}}}}}


def _hop(rng: random.Random, day: str, start: str, end: str, hour: int) -> dict[str, object]:
    return {"code": f"ZQ{rng.randrange(100, 999)}", "day": day, "from": start, "to": end,
            "leaves": f"{hour:02d}:00:00", "fare": rng.randrange(50, 400)}


def _grouped(rng: random.Random) -> tuple[Episode, list[dict[str, object]]]:
    """A search listing six two-hop routes (lists of two objects); the instruction names one by its times."""
    day = f"2033-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}"
    hours = rng.sample(range(24), 12)
    routes = [[_hop(rng, day, "AAA", f"M{i}", hours[2 * i]), _hop(rng, day, f"M{i}", "BBB", hours[2 * i + 1])]
              for i in range(6)]
    pick = rng.choice(routes)
    text = (f"Route me from AAA to BBB on {day} via {pick[1]['from']}: the {str(pick[0]['leaves'])[:5]} hop, "
            f"then the one at {str(pick[1]['leaves'])[:5]}.")
    ep = Episode(text, {"find": {}, "take": {"parameters": _SCHEMA}}, {"take": True})
    ep.add("find", {"a": "AAA", "b": "BBB", "day": day}, json.dumps(routes), False)
    return ep, [{"code": h["code"], "day": h["day"]} for h in pick]


def _two_searches(rng: random.Random) -> tuple[Episode, list[dict[str, object]]]:
    """Two searches (out, back) of four single hops each; the instruction names one of each by its time. The
    hops do not repeat the day: it is the search's argument."""
    days = [f"2033-0{rng.randrange(1, 9)}-1{i}" for i in range(2)]
    hours = rng.sample(range(24), 8)
    out = [_hop(rng, days[0], "AAA", "BBB", h) for h in hours[:4]]
    back = [_hop(rng, days[1], "BBB", "AAA", h) for h in hours[4:]]
    a, b = rng.choice(out), rng.choice(back)
    want = [{"code": h["code"], "day": h.pop("day")} for h in (a, b)]
    for h in out + back:
        h.pop("day", None)
    text = f"Out on {days[0]} at {str(a['leaves'])[:5]} and back on {days[1]} at {str(b['leaves'])[:5]}."
    ep = Episode(text, {"find": {}, "take": {"parameters": _SCHEMA}}, {"take": True})
    ep.add("find", {"day": days[0]}, json.dumps(out), False)
    ep.add("find", {"day": days[1]}, json.dumps(back), False)
    return ep, want


def _trained(make, episodes: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    rng, w = random.Random(0), np.zeros(DIM)
    cases = (make(rng) for _ in range(episodes))
    train_on_fills(w, ((ep, {"hops": want}) for ep, want in cases), _SCHEMA)
    return w


def _solved(w: np.ndarray, make, n: int = 20) -> int:  # type: ignore[no-untyped-def]
    rng = random.Random(99)

    def greedy(feats: list[np.ndarray], target: int | None) -> int:
        return int(np.argmax(score(w, feats)))

    right = 0
    for _ in range(n):
        ep, want = make(rng)
        right += ArgFiller(ep, "take", {}, greedy).fill(_SCHEMA) == {"hops": want}
    return right


def test_a_group_listed_together_is_one_candidate_picked_by_what_the_instruction_names() -> None:
    # the pair is a run of two items: one decision, not two hops matched separately
    rng = random.Random(5)
    ep, want = _grouped(rng)
    labels = fill_labels(ep, _SCHEMA, {"hops": want})
    assert len(labels) == 2 and labels[0] and labels[1] == 0, labels  # the pair; then "another item?": no
    assert _solved(_trained(_grouped, 40), _grouped) >= 18


def test_one_item_from_each_of_two_searches() -> None:
    # each hop, completed with the day its search was asked for, is one candidate item
    ep, want = _two_searches(random.Random(3))
    labels = fill_labels(ep, _SCHEMA, {"hops": want})
    assert len(labels) == 4 and labels[0] and labels[1] == 1 and labels[2] and labels[3] == 0, labels
    assert _solved(_trained(_two_searches, 40), _two_searches) >= 18
