"""``DomainPack.slice_state``'s fast paths pick what the plain definition picks and leave the state alone."""

from __future__ import annotations

import copy
from typing import Any

from clawloop_synth.sim.domain import _RANKINGS, DomainPack, _stable_rank
from clawloop_synth.sim.pack_rules import DateWindow


def _state(users: int = 40) -> dict[str, Any]:
    days = {f"2024-05-{d:02d}": {"status": "available", "seats": d} for d in range(1, 29)}
    return {
        "users": {f"u{i}": {"name": f"User {i}", "flight": f"F{i % 7}"} for i in range(users)},
        "flights": {f"F{i}": {"number": f"F{i}", "dates": copy.deepcopy(days)} for i in range(7)},
    }


def _pack() -> DomainPack:
    return DomainPack(name="t", tools=[], collections=("users", "flights"),
                      date_windows=(DateWindow("flights", "dates", 1),), slice_depth=1)


def _by_definition(state: dict[str, Any], taken: set[str], count: int, seed: str) -> set[str]:
    """The distractors as first defined: every other key sorted by its stable rank, the first ``count``."""
    return set(sorted((k for k in state if k not in taken), key=lambda k: _stable_rank(seed, k))[:count])


def test_distractors_are_the_lowest_ranked_keys_even_after_the_keys_change() -> None:
    pack, state = _pack(), _state()
    calls = [("get_user", {"user_id": "u3", "date": "2024-05-10"})]
    for seed in ("a", "b", "a"):  # "a" again: its cached ranking is reused
        sliced = pack.slice_state(state, calls, distractors={"users": 3}, seed=seed)
        assert set(sliced["users"]) == {"u3"} | _by_definition(state["users"], {"u3"}, 3, seed)
    # Same seed, different keys in the collection: the kept ranking must not be used for them.
    lowest = min(state["users"], key=lambda k: _stable_rank("a", k) if k != "u3" else b"\xff")
    del state["users"][lowest]
    state["users"]["u_new"] = {"name": "New", "flight": "F1"}
    sliced = pack.slice_state(state, calls, distractors={"users": 3}, seed="a")
    assert lowest not in sliced["users"]
    assert set(sliced["users"]) == {"u3"} | _by_definition(state["users"], {"u3"}, 3, "a")
    assert len(_RANKINGS.kept) <= _RANKINGS.size


def test_no_ranking_for_a_collection_that_takes_no_distractor() -> None:
    pack, state = _pack(), _state()
    _RANKINGS.kept.clear()
    pack.slice_state(state, [("get_user", {"user_id": "u3"})], distractors={"users": 0, "flights": 0}, seed="z")
    assert not _RANKINGS.kept


def test_trimming_the_days_leaves_the_full_state_whole() -> None:
    pack, state = _pack(), _state()
    before = copy.deepcopy(state)
    sliced = pack.slice_state(state, [("get_user", {"user_id": "u3", "date": "2024-05-10"})],
                              distractors=0, seed="s")
    assert state == before
    assert sorted(sliced["flights"]["F3"]["dates"]) == ["2024-05-09", "2024-05-10", "2024-05-11"]
    sliced["flights"]["F3"]["dates"]["2024-05-10"]["seats"] = -1  # the slice is a copy, not a view
    assert state["flights"]["F3"]["dates"]["2024-05-10"]["seats"] == 10


def test_a_slice_follows_the_state_order_after_the_collection_is_reordered_in_place() -> None:
    pack, state = _pack(), _state()
    calls = [("get_user", {"user_id": "u3"}), ("get_user", {"user_id": "u5"})]
    first = pack.slice_state(state, calls, distractors=0, seed="o")
    assert list(first["users"]) == ["u3", "u5"]
    state["users"]["u3"] = state["users"].pop("u3")  # the same table object, u3 now last
    again = pack.slice_state(state, calls, distractors=0, seed="o")
    assert list(again["users"]) == ["u5", "u3"]


def test_an_uncopied_slice_shares_entities_and_a_copied_one_does_not() -> None:
    pack, state = _pack(), _state()
    calls = [("get_user", {"user_id": "u3"})]
    assert pack.slice_state(state, calls, distractors=0, copy=False)["users"]["u3"] is state["users"]["u3"]
    assert pack.slice_state(state, calls, distractors=0)["users"]["u3"] is not state["users"]["u3"]
