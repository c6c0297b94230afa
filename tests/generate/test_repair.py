"""A drawn write refused with a computed figure is retried with it (generate/procedural/repair.py)."""

from __future__ import annotations

import random
from pathlib import Path

from clawloop_synth.generate.procedural.repair import figure_repairs

MESSAGE = "Error: payment amount does not add up, total price is 1064, but paid 300"


def test_the_figure_goes_into_a_numeric_leaf_and_a_figure_already_sent_is_not_tried() -> None:
    args = {"payments": [{"id": "card_1", "amount": 300}], "bags": 1, "note": "12"}
    proposals = list(figure_repairs(args, MESSAGE))
    assert proposals[0] == {"payments": [{"id": "card_1", "amount": 1064}], "bags": 1, "note": "12"}
    assert {"payments": [{"id": "card_1", "amount": 300}], "bags": 1064, "note": "12"} in proposals
    assert not any(p["note"] != "12" for p in proposals)  # a string is never a number to repair
    assert list(figure_repairs(args, "Error: user not found")) == []


def test_a_split_payment_is_made_to_add_up_by_dropping_or_by_the_rest() -> None:
    args = {"payments": [{"id": "gift_1", "amount": 300}, {"id": "card_1", "amount": 200}]}
    proposals = list(figure_repairs(args, MESSAGE))
    assert {"payments": [{"id": "gift_1", "amount": 1064}]} in proposals  # the other item dropped
    assert {"payments": [{"id": "gift_1", "amount": 864}, {"id": "card_1", "amount": 200}]} in proposals
    assert {"payments": [{"id": "gift_1", "amount": 300}, {"id": "card_1", "amount": 764}]} in proposals


def test_in_the_pack_induced_from_airline_traces_the_generic_kit_books_reservations(
        tmp_path: Path, airline_trajectories: Path, airline_db: Path) -> None:
    from clawloop_synth.generate.graph import build_graph
    from clawloop_synth.generate.procedural.base import KitContext
    from clawloop_synth.generate.procedural.generic import GenericKit
    from clawloop_synth.induce import induce_pack
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim.pack import load_pack

    traces = list(iter_traces([airline_trajectories]))
    pack = load_pack(induce_pack(traces, tmp_path / "induced", db=airline_db), airline_db)
    state = pack.load_state(airline_db)
    ctx = KitContext(pack, state, build_graph(traces, pack.write_tools), [], traces)
    draws = GenericKit().base_tasks(ctx, random.Random(0))
    bases = [b for b in (next(draws) for _ in range(200)) if not isinstance(b, str)]
    # The induced handler checks the payment against the price it computes; drawn amounts never match it.
    booked = [b for b in bases if any(c.name == "book_reservation" for c in b.calls)]
    assert len(booked) >= 3, [b.kind for b in bases]
