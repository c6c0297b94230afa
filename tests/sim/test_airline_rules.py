"""The airline pack's policy rules: each fires on a state where the policy forbids the call and stays
quiet on one where it allows it (states written here, shaped like the airline database)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clawloop_synth.sim.pack import load_pack
from clawloop_synth.sim.rules import RuleSet, pack_rules


def _state() -> dict[str, Any]:
    day = {"status": "available", "available_seats": {"basic_economy": 9, "economy": 9, "business": 9},
           "prices": {"basic_economy": 60, "economy": 120, "business": 400}}
    flights = {
        "HAT001": {"flight_number": "HAT001", "origin": "JFK", "destination": "ORD",
                   "dates": {"2024-05-20": dict(day), "2024-05-10": {"status": "landed"},
                             "2024-05-12": {"status": "cancelled"}}},
        "HAT002": {"flight_number": "HAT002", "origin": "ORD", "destination": "JFK",
                   "dates": {"2024-05-25": dict(day)}},
        "HAT003": {"flight_number": "HAT003", "origin": "JFK", "destination": "ORD",
                   "dates": {"2024-05-21": dict(day)}},
        "HAT004": {"flight_number": "HAT004", "origin": "JFK", "destination": "BOS",
                   "dates": {"2024-05-21": dict(day)}},
    }
    user = {"name": {"first_name": "Ann", "last_name": "Lee"}, "dob": "1980-01-01", "membership": "regular",
            "payment_methods": {
                "credit_card_1": {"source": "credit_card", "id": "credit_card_1"},
                "credit_card_2": {"source": "credit_card", "id": "credit_card_2"},
                "certificate_1": {"source": "certificate", "id": "certificate_1", "amount": 100},
                "certificate_2": {"source": "certificate", "id": "certificate_2", "amount": 100},
                "gift_card_1": {"source": "gift_card", "id": "gift_card_1", "amount": 500}},
            "reservations": ["R1"], "saved_passengers": []}
    reservation = {"reservation_id": "R1", "user_id": "ann", "origin": "JFK", "destination": "ORD",
                   "flight_type": "one_way", "cabin": "economy",
                   "flights": [{"flight_number": "HAT001", "date": "2024-05-20", "price": 110,
                                "origin": "JFK", "destination": "ORD"}],
                   "passengers": [{"first_name": "Ann", "last_name": "Lee", "dob": "1980-01-01"}],
                   "payment_history": [{"payment_id": "credit_card_1", "amount": 110}],
                   "created_at": "2024-05-01T10:00:00", "total_baggages": 1, "nonfree_baggages": 0,
                   "insurance": "no"}
    return {"users": {"ann": user}, "flights": flights, "reservations": {"R1": reservation}}


def _res(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    state = copy.deepcopy(state)
    state["reservations"]["R1"].update(changes)
    return state


def _user(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    state = copy.deepcopy(state)
    state["users"]["ann"].update(changes)
    return state


def _book(**changes: Any) -> dict[str, Any]:
    args = {"user_id": "ann", "origin": "JFK", "destination": "ORD", "flight_type": "one_way", "cabin": "economy",
            "flights": [{"flight_number": "HAT001", "date": "2024-05-20"}],
            "passengers": [{"first_name": "Ann", "last_name": "Lee", "dob": "1980-01-01"}],
            "payment_methods": [{"payment_id": "credit_card_1", "amount": 120}],
            "total_baggages": 1, "nonfree_baggages": 0, "insurance": "no"}
    args.update(changes)
    return args


S = _state()
FLOWN = [{"flight_number": "HAT001", "date": "2024-05-10", "price": 110}]
AIRLINE_CANCELLED = [{"flight_number": "HAT001", "date": "2024-05-12", "price": 110}]
CHANGE = {"reservation_id": "R1", "cabin": "economy", "flights": [{"flight_number": "HAT003", "date": "2024-05-21"}],
          "payment_id": "credit_card_1"}
PERSON = {"first_name": "Bo", "last_name": "Lee", "dob": "1990-01-01"}

# (rule, state, tool, arguments, fires)
CASES = [
    ("cancel_allowed", S, "cancel_reservation", {"reservation_id": "R1"}, True),  # economy, old, no insurance
    ("cancel_allowed", _res(S, created_at="2024-05-15T01:00:00"), "cancel_reservation", {"reservation_id": "R1"},
     False),
    ("cancel_allowed", _res(S, insurance="yes"), "cancel_reservation", {"reservation_id": "R1"}, False),
    ("cancel_allowed", _res(S, cabin="business"), "cancel_reservation", {"reservation_id": "R1"}, False),
    ("cancel_allowed", _res(S, flights=AIRLINE_CANCELLED), "cancel_reservation", {"reservation_id": "R1"}, False),
    ("cancel_allowed", _res(S, flights=FLOWN, insurance="yes"), "cancel_reservation", {"reservation_id": "R1"}, True),
    ("cancel_allowed", _res(S, status="cancelled", insurance="yes"), "cancel_reservation",
     {"reservation_id": "R1"}, True),
    ("basic_economy_fixed", _res(S, cabin="basic_economy"), "update_reservation_flights", CHANGE, True),
    ("basic_economy_fixed", S, "update_reservation_flights", CHANGE, False),
    ("basic_economy_fixed", _res(S, cabin="basic_economy"), "update_reservation_flights",  # cabin change only
     {**CHANGE, "flights": [{"flight_number": "HAT001", "date": "2024-05-20"}]}, False),
    ("same_trip", S, "update_reservation_flights",
     {**CHANGE, "flights": [{"flight_number": "HAT004", "date": "2024-05-21"}]}, True),  # to BOS, not ORD
    ("same_trip", S, "update_reservation_flights", CHANGE, False),
    ("same_trip", _res(S, flight_type="round_trip"), "update_reservation_flights", CHANGE, True),  # return dropped
    ("same_trip", _res(S, flight_type="round_trip"), "update_reservation_flights",
     {**CHANGE, "flights": [{"flight_number": "HAT003", "date": "2024-05-21"},
                            {"flight_number": "HAT002", "date": "2024-05-25"}]}, False),
    ("bags_added_only", S, "update_reservation_baggages",
     {"reservation_id": "R1", "total_baggages": 0, "nonfree_baggages": 0, "payment_id": "credit_card_1"}, True),
    ("bags_added_only", S, "update_reservation_baggages",
     {"reservation_id": "R1", "total_baggages": 2, "nonfree_baggages": 1, "payment_id": "credit_card_1"}, False),
    # regular member, economy: one free bag per passenger
    ("bag_allowance", S, "update_reservation_baggages",
     {"reservation_id": "R1", "total_baggages": 2, "nonfree_baggages": 2, "payment_id": "credit_card_1"}, True),
    ("bag_allowance", S, "update_reservation_baggages",
     {"reservation_id": "R1", "total_baggages": 2, "nonfree_baggages": 1, "payment_id": "credit_card_1"}, False),
    ("bag_allowance", _user(S, membership="gold"), "book_reservation", _book(total_baggages=3, nonfree_baggages=1),
     True),
    ("bag_allowance", _user(S, membership="gold"), "book_reservation", _book(total_baggages=3, nonfree_baggages=0),
     False),
    ("bag_allowance", S, "book_reservation", _book(cabin="basic_economy", total_baggages=1, nonfree_baggages=0), True),
    # a cabin change re-priced the segment at the business fare though the cabin field still says economy
    ("bag_allowance", _res(S, flights=[{"flight_number": "HAT001", "date": "2024-05-20", "price": 400}]),
     "update_reservation_baggages",
     {"reservation_id": "R1", "total_baggages": 2, "nonfree_baggages": 0, "payment_id": "credit_card_1"}, False),
    ("payment_limits", S, "book_reservation", _book(payment_methods=[
        {"payment_id": "certificate_1", "amount": 60}, {"payment_id": "certificate_2", "amount": 60}]), True),
    ("payment_limits", S, "book_reservation", _book(payment_methods=[
        {"payment_id": "credit_card_1", "amount": 60}, {"payment_id": "credit_card_2", "amount": 60}]), True),
    ("payment_limits", S, "book_reservation", _book(payment_methods=[
        {"payment_id": "certificate_1", "amount": 100}, {"payment_id": "credit_card_1", "amount": 20}]), False),
    ("passengers", S, "update_reservation_passengers",
     {"reservation_id": "R1", "passengers": [PERSON, PERSON]}, True),
    ("passengers", S, "update_reservation_passengers", {"reservation_id": "R1", "passengers": [PERSON]}, False),
    ("passengers", S, "book_reservation", _book(passengers=[PERSON] * 6), True),
    ("passengers", S, "book_reservation", _book(passengers=[PERSON] * 5), False),
    ("compensation", S, "send_certificate", {"user_id": "ann", "amount": 100}, True),  # regular, economy, no insurance
    ("compensation", _user(S, membership="silver"), "send_certificate", {"user_id": "ann", "amount": 100}, False),
    ("compensation", _user(S, membership="silver"), "send_certificate", {"user_id": "ann", "amount": 300}, True),
    ("compensation", _res(S, insurance="yes"), "send_certificate", {"user_id": "ann", "amount": 50}, False),
]


@pytest.fixture(scope="module")
def rules() -> dict[str, RuleSet]:
    pack = load_pack("airline")
    return {rule.name: RuleSet([rule]) for rule in pack_rules(pack)}


def test_every_airline_rule_is_tested_both_ways() -> None:
    names = {rule.name for rule in pack_rules(load_pack("airline"))}
    assert {c[0] for c in CASES if c[4]} == names
    assert {c[0] for c in CASES if not c[4]} == names


@pytest.mark.parametrize(("rule", "state", "tool", "arguments", "fires"), CASES,
                         ids=[f"{c[0]}-{n}-{'fires' if c[4] else 'quiet'}" for n, c in enumerate(CASES)])
def test_rule(rules: dict[str, RuleSet], rule: str, state: dict[str, Any], tool: str, arguments: dict[str, Any],
              fires: bool) -> None:
    before = copy.deepcopy(state)
    found = rules[rule].check(state, tool, arguments, 0)
    assert bool(found) == fires, found
    assert all(v.rule == rule and v.message for v in found)
    assert state == before  # a rule only reads


def test_rules_judge_only_the_tools_they_name(rules: dict[str, RuleSet]) -> None:
    assert rules["cancel_allowed"].check(S, "get_reservation_details", {"reservation_id": "R1"}, 0) == []
