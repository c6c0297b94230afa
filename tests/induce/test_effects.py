"""Effects no trace reads back: balances charged, members used up, members added, an entry of nothing
not recorded; and facets of searched entities in a state reconstructed from traces (a wallet world and
a timetable the tests write themselves, nothing from a real domain)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from clawloop_synth.induce import induce
from clawloop_synth.induce.examples import collect_calls
from clawloop_synth.induce.fidelity import run_handler
from clawloop_synth.induce.state import reconstruct_state, seed_from_reads
from clawloop_synth.sim.sandbox import compile_handler
from clawloop_synth.sim.state import copy_state
from tests.induce.helpers import record


def pay(state: dict[str, Any], user_id: str, item: str, payments: list[dict[str, Any]]) -> Any:
    user = state["members"].get(user_id)
    if user is None:
        return "Error: member not found"
    for payment in payments:
        pot = user["pots"].get(payment["pot_id"])
        if pot is None:
            return "Error: pot " + payment["pot_id"] + " not found"
        if "credit" in pot and pot["credit"] < payment["amount"]:
            return "Error: pot " + payment["pot_id"] + " is short"
    for payment in payments:
        pot = user["pots"][payment["pot_id"]]
        if pot["type"] == "token":
            user["pots"].pop(payment["pot_id"])  # a token is spent whole
        elif "credit" in pot:
            pot["credit"] -= payment["amount"]
    key = "B" + str(len(state["baskets"]) + 500)
    basket = {"basket_id": key, "user_id": user_id, "item": item, "charges": [dict(p) for p in payments]}
    state["baskets"][key] = basket
    return basket


def extend(state: dict[str, Any], basket_id: str, extra: int, pot_id: str) -> Any:
    basket = state["baskets"].get(basket_id)
    if basket is None:
        return "Error: basket not found"
    pot = state["members"][basket["user_id"]]["pots"].get(pot_id)
    if pot is None:
        return "Error: pot not found"
    cost = 7 * extra
    if "credit" in pot and pot["credit"] < cost:
        return "Error: the pot is short"
    if pot["type"] == "store":
        pot["credit"] -= cost
    basket["extra"] = extra
    if cost != 0:  # nothing charged, nothing recorded
        basket["charges"].append({"pot_id": pot_id, "amount": cost})
    return basket


def gift(state: dict[str, Any], user_id: str, credit: int) -> Any:
    user = state["members"].get(user_id)
    if user is None:
        return "Error: member not found"
    for number in range(7700, 7710):
        key = f"token_{number}"
        if key not in user["pots"]:
            user["pots"][key] = {"type": "token", "credit": credit, "pot_id": key}
            return f"Token {key} given to {user_id} worth {credit}."
    return "Error: too many tokens"


def wallets(rng: random.Random) -> dict[str, Any]:
    members: dict[str, Any] = {}
    baskets: dict[str, Any] = {}
    for n in range(40):
        pots = {f"bank_{100 + n}": {"type": "bank", "pot_id": f"bank_{100 + n}"},
                f"store_{200 + n}": {"type": "store", "credit": rng.randrange(20, 200), "pot_id": f"store_{200 + n}"},
                f"token_{300 + n}": {"type": "token", "credit": rng.randrange(20, 90), "pot_id": f"token_{300 + n}"}}
        members[f"M{n}"] = {"user_id": f"M{n}", "pots": pots}
        # The database's own baskets were paid by bank and store pots, still held (no token: spent).
        baskets[f"B{n}"] = {"basket_id": f"B{n}", "user_id": f"M{n}", "item": "old",
                            "charges": [{"pot_id": f"store_{200 + n}", "amount": 5},
                                        {"pot_id": f"bank_{100 + n}", "amount": 9}]}
    return {"members": members, "baskets": baskets}


def _trajectory(rng: random.Random, base: dict[str, Any], reuse: bool) -> list[tuple[str, dict[str, Any]]]:
    n = rng.randrange(40)
    user = base["members"][f"M{n}"]
    token, store = user["pots"][f"token_{300 + n}"], user["pots"][f"store_{200 + n}"]
    payments = [{"pot_id": token["pot_id"], "amount": rng.randrange(1, token["credit"] + 1)},
                {"pot_id": store["pot_id"], "amount": rng.randrange(1, min(store["credit"], 20) + 1)},
                {"pot_id": f"bank_{100 + n}", "amount": rng.randrange(1, 50)}]
    calls: list[tuple[str, dict[str, Any]]] = [("pay", {"user_id": f"M{n}", "item": "x", "payments": payments})]
    if reuse:  # the same token again: the recording answers that it is gone
        calls.append(("pay", {"user_id": f"M{n}", "item": "x", "payments": [{"pot_id": token["pot_id"], "amount": 1}]}))
    calls.append(("extend", {"basket_id": f"B{n}", "extra": rng.choice([0, 0, 1, 2]),
                             "pot_id": rng.choice([f"bank_{100 + n}", store["pot_id"]])}))
    if rng.random() < 0.2:  # a pot the member does not hold
        calls.append(("extend", {"basket_id": f"B{n}", "extra": 1, "pot_id": "bank_999"}))
    if rng.random() < 0.3:
        calls.append(("gift", {"user_id": f"M{n}", "credit": rng.choice([10, 25])}))
    return calls


def _traces(tmp_path: Path, reuse: bool) -> tuple[dict[str, Any], Path, list[Any], random.Random]:
    rng = random.Random(11)
    base = wallets(rng)
    db = tmp_path / "db"
    db.mkdir()
    for name, table in base.items():
        (db / f"{name}.json").write_text(json.dumps(table))
    backend = {"pay": pay, "extend": extend, "gift": gift}
    traces = [record(f"t{i}", f"task{i}", copy_state(base), backend, _trajectory(rng, base, reuse and i % 3 == 0))
              for i in range(60)]
    return base, db, traces, rng


def _same_final_state(induced: Any, base: dict[str, Any], rng: random.Random) -> list[str]:
    handlers = {spec.name: compile_handler(spec.handler) for spec in induced.tools}
    backend = {"pay": pay, "extend": extend, "gift": gift}
    differ = []
    for index in range(25):
        calls = _trajectory(rng, base, reuse=False)
        want, got = copy_state(base), copy_state(base)
        for name, args in calls:
            backend[name](want, **copy_state(args))
            run_handler(handlers[name], got, args)
        if got != want:
            user = calls[0][1]["user_id"]
            differ.append(f"{index} {calls}: got {got['members'][user]} want {want['members'][user]}")
    return differ


def test_charges_used_up_members_and_added_members_reach_the_state(tmp_path: Path) -> None:
    # Regression: no trajectory reads a member again after a write, so the induced handlers left a
    # store pot's credit as it was, kept a spent token, added no token on a gift, and recorded a charge of 0.
    base, db, traces, rng = _traces(tmp_path, reuse=True)
    induced = induce(traces, db=db)
    differ = _same_final_state(induced, base, rng)
    assert not differ, (differ[:3], {spec.name: spec.handler for spec in induced.tools})
    assert any(spec.name == "gift" and spec.writes for spec in induced.tools)


def test_a_missing_member_is_an_error_only_where_its_entity_is_known(tmp_path: Path) -> None:
    # Regression: "pot not found" fired when the state did not hold the member at all (a state seeded
    # from a trajectory's reads), though every recorded such error had the member and lacked the pot.
    base, db, traces, _ = _traces(tmp_path, reuse=False)
    induced = induce(traces, db=db)
    extend_source = next(spec.handler for spec in induced.tools if spec.name == "extend")
    handler = compile_handler(extend_source)
    state = copy_state(base)
    _, text = run_handler(handler, state, {"basket_id": "B3", "extra": 1, "pot_id": "bank_999"})
    assert text.startswith("Error") and "not found" in text, text
    del state["members"]["M3"]
    _, text = run_handler(handler, state, {"basket_id": "B3", "extra": 1, "pot_id": "bank_103"})
    assert "not found" not in text, (text, extend_source)


def test_a_kind_the_database_never_shows_charged_is_used_up(tmp_path: Path) -> None:
    # Regression: with no later error naming a spent token, the token was debited instead of removed;
    # the database shows the invariant (its baskets name store and bank pots, still held, never a token).
    base, db, traces, rng = _traces(tmp_path, reuse=False)
    induced = induce(traces, db=db)
    differ = _same_final_state(induced, base, rng)
    assert not differ, differ[:3]


def timetable(state: dict[str, Any], origin: str, day: str) -> Any:
    return [{"route_id": key, "origin": route["origin"], **route["days"][day]}
            for key, route in sorted(state["routes"].items()) if route["origin"] == origin and day in route["days"]]


def test_a_search_argument_no_item_shows_is_a_facet_of_each_entity() -> None:
    # Regression: views of one route on two days were merged into one flat entity (the first day's
    # fares for every day); the day a search is for selects a facet of the route.
    rng = random.Random(5)
    days = ["d1", "d2", "d3"]
    routes = {f"R{n}": {"origin": f"O{n % 3}", "days": {d: {"fare": rng.randrange(10, 99), "seats": rng.randrange(9)}
                                                      for d in days}} for n in range(9)}
    state = {"routes": routes}
    traces = [record(f"t{i}", f"task{i}", state, {"timetable": timetable},
                     [("timetable", {"origin": f"O{i % 3}", "day": days[(i // 3) % 3]})]) for i in range(12)]
    rebuilt, _, facets = reconstruct_state(collect_calls(traces))
    assert facets["routes"]["arg"] == "day" and set(facets["routes"]["fields"]) == {"fare", "seats"}, facets
    assert rebuilt["routes"]["R0"]["days"] == routes["R0"]["days"], rebuilt["routes"]["R0"]
    assert rebuilt["routes"]["R0"]["origin"] == "O0"
    seeded: dict[str, Any] = {}
    seed_from_reads(collect_calls(traces[:1])[0], seeded, {"routes": "route_id"}, frozenset(), True, facets)
    assert seeded["routes"]["R0"]["days"] == {"d1": routes["R0"]["days"]["d1"]}, seeded
