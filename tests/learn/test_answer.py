"""The composed answer: totals of listed amounts, and what a write returned several calls back."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from clawloop_synth.learn.features import Episode, in_answer
from clawloop_synth.learn.linear import Decision
from clawloop_synth.learn.policy import PolicyLearner, _Trace

Make = Callable[[random.Random], tuple[Episode, list[str]]]


def _split_order(rng: random.Random) -> tuple[Episode, list[str]]:
    """A write charging two or three cards; the answer names the order id and the total charged."""
    parts = [rng.randrange(20, 400) for _ in range(rng.choice([2, 3]))]
    order = f"OR{rng.randrange(1000, 9999)}"
    ep = Episode(f"Order the lamp for me, splitting it over {len(parts)} cards. What is the total?",
                 {"order": {}}, {"order": True})
    result = {"order_id": order, "stock": rng.randrange(1, 9),
              "charges": [{"card": f"card_{i}", "amount": a} for i, a in enumerate(parts)]}
    ep.add("order", {}, json.dumps(result), False)
    return ep, [order, str(sum(parts))]


def _then_reads(rng: random.Random) -> tuple[Episode, list[str]]:
    """A write whose result holds the refund, then four lookups for a second request: both are reported."""
    refund = rng.randrange(100, 900)
    ep = Episode("Cancel order A1 and tell me the refund. Then how many lamps are in stock?",
                 {"cancel": {}, "look": {}}, {"cancel": True})
    ep.add("cancel", {"id": "A1"}, json.dumps({"status": "cancelled", "refund": refund}), False)
    stock = 0
    for k in range(4):
        stock = rng.randrange(1000, 5000)
        ep.add("look", {"k": k}, json.dumps({"shelf": f"S{k}", "stock": stock, "aisle": rng.randrange(10, 99)}), False)
    return ep, [str(refund), str(stock)]


def _reported(make: Make, episodes: int = 40, n: int = 20) -> int:
    learner, rng = PolicyLearner(), random.Random(0)
    data: list[Decision] = []
    for _ in range(episodes):
        ep, facts = make(rng)
        learner._mode, learner._trace = "force", _Trace()
        learner._answer(ep, "Done: " + ", ".join(facts))
        data += learner._trace.decisions
    learner._mode, learner._trace = "greedy", None
    for epoch in range(6):
        learner._update([data[i] for i in rng.sample(range(len(data)), len(data))], 0.3 / (1 + epoch))
    right = 0
    for _ in range(n):
        ep, facts = make(rng)
        answer = learner._answer(ep, None)
        right += all(in_answer(int(f) if f.isdigit() else f, answer) for f in facts)
    return right


def test_the_total_of_listed_amounts_is_a_fact_to_report() -> None:
    assert _reported(_split_order) >= 18


def test_what_a_write_returned_is_reported_after_later_lookups() -> None:
    assert _reported(_then_reads) >= 18


def _earliest(rng: random.Random) -> tuple[Episode, list[str]]:
    """A trip of three legs listed out of order; the answer names the leg with the earliest date."""
    days = sorted(rng.sample(range(1, 28), 3))
    legs = [{"leg": f"LG{rng.randrange(100, 999)}", "on": f"2031-03-{d:02d}"} for d in days]
    first = legs[0]["leg"]
    rng.shuffle(legs)
    ep = Episode("Which leg of trip T9 did I fly already?", {"trip": {}}, {})
    ep.add("trip", {"id": "T9"}, json.dumps({"trip": "T9", "legs": legs}), False)
    return ep, [first]


def test_the_record_with_the_earliest_date_is_told_apart() -> None:
    assert _reported(_earliest) >= 18
