"""Airline requests for the procedural kit, one function per kind: each returns a :class:`Part` or a
string saying why the draw was dropped.

A part is one thing a user asks for: the writes it needs (none for refusals, transfers and questions),
the lookups it makes itself, what the user says, and how the answer is worded from the writes'
results. The kit (:mod:`.airline`) joins one or two parts of the same user into a scenario. Whether a
request is allowed is the pack's rules' call (:class:`~clawloop_synth.sim.rules.RuleSet`): a kind asks
them before it picks a reservation, and a refusal picks one they forbid.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.sim.rules import RuleSet
from clawloop_synth.types import Choice, Constraint, PlannedCall

__all__ = ["Part", "PartFn", "Shop", "method_label"]

FIRST_OPEN_DAY = "2024-05-16"  # the database's flights are bookable from here on
LAST_DAY = "2024-05-30"
CABIN_WORDS = {"basic_economy": "basic economy", "economy": "economy", "business": "business"}
CABINS = ("basic_economy", "economy", "business")
FREE_BAGS = {"regular": (0, 1, 2), "silver": (1, 2, 3), "gold": (2, 3, 3)}  # by cabin, in CABINS order
BAG_PRICE = 50


@dataclass
class Part:
    """One request: ``finish(values)`` words the answer from its writes' results and names the outputs."""

    kind: str
    text: str
    writes: list[PlannedCall]
    given: dict[str, Any]
    finish: Callable[[list[Any]], tuple[str, list[str]]]
    reads: list[PlannedCall] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    constraints: list[Choice] = field(default_factory=list)
    forbidden: PlannedCall | None = None
    complied: str = ""
    reservation: str | None = None  # the reservation it concerns (two parts of a task never share one)


def method_label(method: dict[str, Any]) -> str:
    """How a user names a payment method."""
    if method["source"] == "credit_card":
        return f"{method.get('brand', 'credit').title()} credit card ending in {method.get('last_four', '')}"
    if method["source"] == "gift_card":
        return f"gift card {method['id']}"
    return f"travel certificate {method['id']}"


def _route(res: dict[str, Any]) -> str:
    kind = "round trip" if res["flight_type"] == "round_trip" else "one-way trip"
    return f"{CABIN_WORDS.get(res['cabin'], res['cabin'])} {kind} from {res['origin']} to {res['destination']}"


def _flight_choice(number: str, origin: str, destination: str, day: str, time: str, cabin: str,
                   seats: int) -> Choice:
    """The constraints that pick a direct flight: route, day, departure time, free seats in the cabin."""
    on_day = f'dates."{day}"'
    return Choice(collection="flights", key=number, constraints=[
        Constraint(field="origin", value=origin, text=origin),
        Constraint(field="destination", value=destination, text=destination),
        Constraint(field=f"{on_day}.status", value="available", text=day),
        Constraint(field=f"starts_with(scheduled_departure_time_est, '{time}')", value=True, text=time),
        Constraint(field=f"{on_day}.available_seats.{cabin}", op="ge", value=seats, text=CABIN_WORDS[cabin]),
    ])


class Shop:
    """The kit's view of the database: reservations, flights and payments a request can use, and the rules."""

    def __init__(self, state: dict[str, Any], rules: RuleSet) -> None:
        self.state = state
        self.rules = rules

    def allowed(self, name: str, args: dict[str, Any]) -> bool:
        return not self.rules.check(self.state, name, args, 0)

    def reservations(self, user_id: str, ok: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        table = self.state["reservations"]
        return [table[r] for r in self.state["users"][user_id]["reservations"]
                if r in table and table[r].get("status") != "cancelled" and table[r]["flights"] and ok(table[r])]

    def day(self, number: str, date: str) -> dict[str, Any]:
        return self.state["flights"].get(number, {}).get("dates", {}).get(date) or {}

    def bookable(self, number: str, date: str, cabin: str, seats: int) -> bool:
        day = self.day(number, date)
        return day.get("status") == "available" and day["available_seats"][cabin] >= seats

    def future(self, res: dict[str, Any]) -> bool:
        return all(s["date"] >= FIRST_OPEN_DAY for s in res["flights"])

    def direct(self, origin: str, destination: str, date: str, cabin: str, seats: int) -> list[str]:
        return [n for n, f in sorted(self.state["flights"].items())
                if f["origin"] == origin and f["destination"] == destination and self.bookable(n, date, cabin, seats)]

    def payment(self, user: dict[str, Any], rng: random.Random, amount: int,
                sources: tuple[str, ...] = ("credit_card", "gift_card")) -> dict[str, Any] | None:
        options = [m for _, m in sorted(user["payment_methods"].items()) if m["source"] in sources
                   and (m["source"] == "credit_card" or m.get("amount", 0) >= amount)]
        return rng.choice(options) if options else None

    def free_bags(self, user: dict[str, Any], cabin: str, people: int) -> int:
        return FREE_BAGS.get(user.get("membership", "regular"), FREE_BAGS["regular"])[CABINS.index(cabin)] * people

    def cabin_in_use(self, res: dict[str, Any]) -> str:
        """The cabin the segments' fares say (a cabin change leaves the reservation's field as it was)."""
        for cabin in CABINS:
            if cabin != res["cabin"] and all(self.day(s["flight_number"], s["date"]).get("prices", {}).get(cabin)
                                             == s["price"] for s in res["flights"]):
                return cabin
        return res["cabin"]


PartFn = Callable[[Shop, random.Random, str], "Part | str"]
