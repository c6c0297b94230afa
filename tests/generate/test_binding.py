"""Drawn write arguments fitted to the entities they act on (generate/procedural/binding.py)."""

from __future__ import annotations

import random

from clawloop_synth.generate.procedural.binding import Members, aligned_list, rebind

STATE = {
    "users": {
        "ann_1": {"user_id": "ann_1", "wallet": {"card_1111": {"kind": "card"}, "voucher_7": {"kind": "voucher"}},
                  "trips": ["T100"]},
        "bob_2": {"user_id": "bob_2", "wallet": {"card_2222": {"kind": "card"}}, "trips": ["T200"]},
    },
    "trips": {
        "T100": {"trip_id": "T100", "user_id": "ann_1",
                 "riders": [{"name": "Ann", "age": 40}, {"name": "Kim", "age": 9}],
                 "legs": {"2024-05-01": {"seat": "1A"}}},
        "T200": {"trip_id": "T200", "user_id": "bob_2", "riders": [{"name": "Bob", "age": 50}],
                 "legs": {"2024-05-01": {"seat": "2B"}}},
    },
}


def test_a_member_of_another_entity_is_swapped_for_one_of_the_same_shape_the_drawn_entity_reaches() -> None:
    members = Members.of(STATE, ["users", "trips"])
    reachable = members.reachable(STATE, [("trips", "T100")])  # the trip names its user: one hop
    assert {"card_1111", "voucher_7"} <= reachable and "card_2222" not in reachable
    args = {"payment": [{"id": "card_2222", "amount": 5}], "day": "2024-05-01"}
    bound = rebind(args, members, reachable, random.Random(0))
    assert bound["payment"][0]["id"] == "card_1111"  # same shape; the voucher is not a card
    assert bound["day"] == "2024-05-01"  # every trip holds that date: a category, not an identity
    assert rebind("card_1111", members, reachable, random.Random(0)) == "card_1111"


def test_a_list_argument_keeps_the_length_of_the_entity_s_own_list() -> None:
    recorded = [[{"name": "Zoe", "age": 30}],
                [{"name": "Max", "age": 31}, {"name": "Lea", "age": 7}, {"name": "Al", "age": 70}]]
    for seed in range(10):
        items = aligned_list("riders", recorded, [STATE["trips"]["T100"]], random.Random(seed))
        assert items is not None and len(items) == 2
        assert all(set(item) == {"name", "age"} for item in items)
    assert aligned_list("riders", recorded, [STATE["users"]["ann_1"]], random.Random(0)) is None  # no such field
