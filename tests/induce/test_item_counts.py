"""Item conditions against a count the call implies: too few places left for the party's members."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from clawloop_synth.induce import induce
from clawloop_synth.sim.state import copy_state
from tests.induce.helpers import record, replay_exact


def reserve(state: dict[str, Any], party_id: str, slots: list[dict[str, Any]]) -> Any:
    party = state["parties"].get(party_id)
    if party is None:
        return "Error: party not found"
    for item in slots:
        slot = state["slots"].get(item["slot_id"])
        if slot is None:
            return "Error: slot " + item["slot_id"] + " not found"
        if slot["free"] < len(party["members"]):
            return "Error: not enough room in slot " + item["slot_id"]
    for item in slots:
        state["slots"][item["slot_id"]]["free"] -= len(party["members"])
    return "Reserved for " + party_id


def world(rng: random.Random) -> dict[str, Any]:
    slots = {f"S{n:02d}": {"slot_id": f"S{n:02d}", "free": rng.randrange(0, 6), "room": rng.choice("ABC")}
             for n in range(30)}
    parties = {f"P{n:02d}": {"party_id": f"P{n:02d}", "members": [f"m{i}" for i in range(rng.randrange(1, 5))]}
               for n in range(20)}
    return {"slots": slots, "parties": parties}


def test_a_count_of_the_named_entity_list_separates_the_error(tmp_path: Path) -> None:
    # Regression: only constants were compared with an item's number (free == 0), so a party of
    # three meeting two free places was accepted.
    rng = random.Random(4)
    base = world(rng)
    db = tmp_path / "db"
    db.mkdir()
    for name, table in base.items():
        (db / f"{name}.json").write_text(json.dumps(table))
    traces = []
    for index in range(80):
        party = rng.choice(sorted(base["parties"]))
        slots = [{"slot_id": key} for key in rng.sample(sorted(base["slots"]), rng.randrange(1, 3))]
        traces.append(record(f"t{index}", f"task{index % 20}", copy_state(base), {"reserve": reserve},
                             [("reserve", {"party_id": party, "slots": slots})]))
    train, held = traces[:60], traces[60:]
    induced = induce(train, db=db)
    source = next(spec.handler for spec in induced.tools if spec.name == "reserve")
    assert "len(pick(state, 'parties', party_id, 'members') or [])" in source
    exact, total, missed = replay_exact(induced.tools, held, lambda trace: copy_state(base))
    assert total == 20 and exact == total, missed[:2]
