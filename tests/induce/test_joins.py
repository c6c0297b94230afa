"""Pair searches: a result listing pairs of one collection's entities is induced as a self-join."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from clawloop_synth.induce import induce, to_domain_pack
from clawloop_synth.sim.state import copy_state
from tests.induce.helpers import record, replay_exact

STOPS = ["ash", "birch", "cedar", "dogwood", "elm"]


def leg_view(leg: dict[str, Any], day: str) -> dict[str, Any]:
    shown = {k: v for k, v in leg.items() if k != "days"}
    shown.update(leg["days"][day])
    shown["day"] = day
    return shown


def connections(state: dict[str, Any], start: str, end: str, day: str) -> Any:
    """Two legs: the first leaves ``start``, the second reaches ``end``, from where the first arrives,
    leaving no earlier than it arrives; both running that day."""
    found = []
    for first in state["legs"].values():
        if first["start"] != start or first["days"].get(day, {}).get("state") != "running":
            continue
        for second in state["legs"].values():
            if second["start"] != first["end"] or second["end"] != end:
                continue
            if second["days"].get(day, {}).get("state") != "running" or first["arrives"] > second["leaves"]:
                continue
            found.append([leg_view(first, day), leg_view(second, day)])
    return found


def network(rng: random.Random) -> dict[str, Any]:
    legs = {}
    for number in range(60):
        start, end = rng.sample(STOPS, 2)
        leaves = rng.randrange(5, 20)
        key = f"L{number:03d}"
        legs[key] = {"leg_id": key, "start": start, "end": end, "leaves": f"{leaves:02d}:00",
                     "arrives": f"{leaves + rng.randrange(1, 4):02d}:30",
                     "days": {day: {"state": rng.choice(["running", "running", "cancelled"]),
                                    "seats": rng.randrange(0, 30)} for day in ("mon", "tue", "wed")}}
    return {"legs": legs}


def test_a_two_leg_search_is_induced_as_a_self_join_and_replays_held_out_calls(tmp_path: Path) -> None:
    # Regression: a result of pairs of entities was fitted as a constant (6 of 38 airline calls).
    rng = random.Random(11)
    base = network(rng)
    db = tmp_path / "db"
    db.mkdir()
    (db / "legs.json").write_text(json.dumps(base["legs"]))
    traces = []
    for index in range(40):
        start, end = rng.sample(STOPS, 2)
        day = rng.choice(["mon", "tue", "wed"])
        traces.append(record(f"t{index}", f"task{index % 10}", copy_state(base), {"connections": connections},
                             [("connections", {"start": start, "end": end, "day": day})]))
    train, held = traces[:30], traces[30:]
    induced = induce(train, db=db)
    assert induced.report["tools"]["connections"]["kind"] == "pair search over legs"
    exact, total, missed = replay_exact(induced.tools, held, lambda trace: copy_state(base))
    assert total == 10 and exact == total, missed[:2]
    # The pack declares the chain for slicing: first hop from the start, last hop to the end, linked.
    (search,) = to_domain_pack(induced, db).searches
    assert (search.hops, search.first, search.last, search.link) == (2, {"start": "start"}, {"end": "end"},
                                                                     {"end": "start"})
