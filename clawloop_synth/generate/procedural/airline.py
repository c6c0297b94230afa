"""Airline knowledge for the procedural generator: four kinds of request over tau-bench's database.

Each kind picks entities with the seeded rng, decides the state-changing call and what the user
says, and words the answer from the call's result. Reads are left to the generic planner.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from clawloop_synth.generate.procedural.base import BaseTask, KitContext, Scenario, base_from_scenario
from clawloop_synth.types import Choice, Constraint, PlannedCall

__all__ = ["AirlineKit"]

_FIRST_OPEN_DAY = "2024-05-16"  # the database's flights are bookable from here on
_DISTRACTORS = 2
_CABIN_WORDS = {"basic_economy": "basic economy", "economy": "economy", "business": "business"}

_HELLO = [
    "Hi, I'm {name} and my user id is {user_id}.",
    "Hello! This is {name} (user id {user_id}).",
    "Good morning, {name} here; my customer id is {user_id}.",
    "Hey there. My name is {name}, user {user_id}.",
]
_ASK_BACK = [
    "Please tell me {what}.",
    "Could you let me know {what} afterwards?",
    "When you're done, tell me {what}.",
    "I also need to know {what}.",
]


def _name(user: dict[str, Any]) -> str:
    return f"{user['name']['first_name']} {user['name']['last_name']}"


def _hello(rng: random.Random, user_id: str, user: dict[str, Any]) -> str:
    return rng.choice(_HELLO).format(name=_name(user), user_id=user_id)


def _ask(rng: random.Random, what: str) -> str:
    return rng.choice(_ASK_BACK).format(what=what)


def method_label(method: dict[str, Any]) -> str:
    """How a user names a payment method."""
    if method["source"] == "credit_card":
        return f"{method.get('brand', 'credit').title()} credit card ending in {method.get('last_four', '')}"
    if method["source"] == "gift_card":
        return f"gift card {method['id']}"
    return f"travel certificate {method['id']}"


def _flight_choice(number: str, origin: str, destination: str, day: str, time: str, cabin: str,
                   seats: int) -> Choice:
    """The constraints that pick a direct flight: route, day, departure time, free seats in the cabin."""
    on_day = f'dates."{day}"'
    return Choice(collection="flights", key=number, constraints=[
        Constraint(field="origin", value=origin, text=origin),
        Constraint(field="destination", value=destination, text=destination),
        Constraint(field=f"{on_day}.status", value="available", text=day),
        Constraint(field=f"starts_with(scheduled_departure_time_est, '{time}')", value=True, text=time),
        Constraint(field=f"{on_day}.available_seats.{cabin}", op="ge", value=seats, text=_CABIN_WORDS[cabin]),
    ])


def _route(res: dict[str, Any]) -> str:
    kind = "round trip" if res["flight_type"] == "round_trip" else "one-way trip"
    return f"{_CABIN_WORDS[res['cabin']]} {kind} from {res['origin']} to {res['destination']}"


class AirlineKit:
    """Sample book / cancel / change-flight / add-bags requests for random users and reservations."""

    domain = "airline"

    def base_tasks(self, ctx: KitContext, rng: random.Random) -> Iterator[BaseTask | str]:
        users = sorted(ctx.state["users"])
        kinds: list[Callable[[KitContext, random.Random, str], Scenario | str]] = [
            self._cancel, self._bags, self._change, self._book]
        while True:
            user_id = rng.choice(users)
            scenario = rng.choice(kinds)(ctx, rng, user_id)
            if isinstance(scenario, str):
                yield scenario
                continue
            yield base_from_scenario(ctx, scenario, _DISTRACTORS, seed=f"{user_id}:{rng.random()}")

    # ------------------------------------------------------------------------------ kinds

    def _reservation(self, ctx: KitContext, rng: random.Random, user_id: str,
                     ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        options = [r for r in ctx.state["users"][user_id]["reservations"]
                   if r in ctx.state["reservations"] and ok(ctx.state["reservations"][r])]
        return ctx.state["reservations"][rng.choice(options)] if options else None

    def _payment(self, user: dict[str, Any], rng: random.Random, amount: int,
                 sources: tuple[str, ...]) -> dict[str, Any] | None:
        options = [m for _, m in sorted(user["payment_methods"].items()) if m["source"] in sources
                   and (m["source"] == "credit_card" or m.get("amount", 0) >= amount)]
        return rng.choice(options) if options else None

    def _cancel(self, ctx: KitContext, rng: random.Random, user_id: str) -> Scenario | str:
        user = ctx.state["users"][user_id]
        res = self._reservation(ctx, rng, user_id, lambda r: r.get("status") != "cancelled" and r["flights"])
        if res is None:
            return "cancel: the user has no open reservation"
        rid = res["reservation_id"]
        first = res["flights"][0]
        said_id = rng.random() < 0.5
        which = f"reservation {rid}" if said_id else f"{_route(res)} departing {first['date']}"
        ask = rng.choice(["Please cancel my {w}.", "My plans changed, so I want to cancel the {w}.",
                          "I won't be travelling after all: cancel my {w}, please.",
                          "Could you cancel my {w} for me?"]).format(w=which)
        instruction = " ".join([_hello(rng, user_id, user), ask,
                                _ask(rng, "how much will be refunded in total")])

        def finish(values: list[Any]) -> tuple[str, list[str]]:
            refund = sum(p["amount"] for p in res["payment_history"])
            return f"Reservation {rid} is cancelled; a total of {refund} dollars will be refunded.", [str(refund)]

        given = {"user_id": user_id, **({"reservation_id": rid} if said_id else {})}
        return Scenario("cancel", [PlannedCall(name="cancel_reservation", arguments={"reservation_id": rid})],
                        given, instruction, finish)

    def _bags(self, ctx: KitContext, rng: random.Random, user_id: str) -> Scenario | str:
        user = ctx.state["users"][user_id]
        res = self._reservation(ctx, rng, user_id, lambda r: r.get("status") != "cancelled")
        if res is None:
            return "bags: the user has no open reservation"
        extra = rng.choice([1, 1, 2, 3])
        method = self._payment(user, rng, 50 * extra, ("credit_card", "gift_card"))
        if method is None:
            return "bags: no payment method covers the bags"
        rid = res["reservation_id"]
        label = method_label(method)
        instruction = " ".join([
            _hello(rng, user_id, user),
            rng.choice(["I'd like to add {n} checked bag{s} to reservation {r}, none of them free; "
                        "charge them to my {m}.",
                        "For my booking {r} I need {n} more checked bag{s} (paid ones), billed to my {m}.",
                        "Please put {n} extra checked bag{s} on reservation {r} and charge my {m}."]).format(
                n=extra, s="s" if extra > 1 else "", r=rid, m=label),
            _ask(rng, "the new number of checked bags and what I was charged")])
        args = {"reservation_id": rid, "total_baggages": res["total_baggages"] + extra,
                "nonfree_baggages": res["nonfree_baggages"] + extra, "payment_id": method["id"]}

        def finish(values: list[Any]) -> tuple[str, list[str]]:
            total, charged = str(args["total_baggages"]), str(50 * extra)
            return (f"Done: reservation {rid} now has {total} checked bags and you were charged "
                    f"{charged} dollars.", [total, charged])

        return Scenario("bags", [PlannedCall(name="update_reservation_baggages", arguments=args)],
                        {"user_id": user_id, "reservation_id": rid}, instruction, finish,
                        labels={method["id"]: label})

    def _direct(self, ctx: KitContext, origin: str, destination: str, day: str, cabin: str,
                seats: int) -> list[dict[str, Any]]:
        out = []
        for number, flight in sorted(ctx.state["flights"].items()):
            if flight["origin"] != origin or flight["destination"] != destination:
                continue
            info = flight["dates"].get(day)
            if info and info.get("status") == "available" and info["available_seats"][cabin] >= seats:
                out.append({**flight, "number": number, "day": day, "price": info["prices"][cabin]})
        return out

    def _change(self, ctx: KitContext, rng: random.Random, user_id: str) -> Scenario | str:
        user = ctx.state["users"][user_id]
        res = self._reservation(ctx, rng, user_id, lambda r: r.get("status") != "cancelled"
                                and r["flight_type"] == "one_way" and len(r["flights"]) == 1
                                and r["flights"][0]["date"] >= _FIRST_OPEN_DAY)
        if res is None:
            return "change: no one-way direct reservation in the future"
        old = res["flights"][0]
        day = old["date"][:8] + f"{int(old['date'][8:]) + rng.choice([-2, -1, 1, 2, 3]):02d}"
        if day < _FIRST_OPEN_DAY or day > "2024-05-30":
            return "change: the new day is out of range"
        options = self._direct(ctx, res["origin"], res["destination"], day, res["cabin"], len(res["passengers"]))
        method = self._payment(user, rng, 10_000, ("credit_card",))
        if not options or method is None:
            return "change: no flight on the new day or no credit card"
        new = rng.choice(options)
        label = method_label(method)
        instruction = " ".join([
            _hello(rng, user_id, user),
            f"I need to move my {_route(res)} ({res['reservation_id']}) from {old['date']} to {day}, "
            f"on the direct flight that leaves at {new['scheduled_departure_time_est'][:5]}; same cabin. "
            f"Any difference goes on my {label}.",
            _ask(rng, "the new flight number and the fare difference")])
        args = {"reservation_id": res["reservation_id"], "cabin": res["cabin"],
                "flights": [{"flight_number": new["number"], "date": day}], "payment_id": method["id"]}
        diff = (new["price"] - old["price"]) * len(res["passengers"])

        def finish(values: list[Any]) -> tuple[str, list[str]]:
            return (f"Your reservation {res['reservation_id']} is now on flight {new['number']} on {day}; the "
                    f"fare difference is {diff} dollars.", [new["number"], str(diff)])

        given = {"user_id": user_id, "reservation_id": res["reservation_id"], "date": day,
                 "origin": res["origin"], "destination": res["destination"]}
        choice = _flight_choice(new["number"], res["origin"], res["destination"], day,
                                new["scheduled_departure_time_est"][:5], res["cabin"], len(res["passengers"]))
        return Scenario("change", [PlannedCall(name="update_reservation_flights", arguments=args)], given,
                        instruction, finish, labels={method["id"]: label}, constraints=[choice])

    def _book(self, ctx: KitContext, rng: random.Random, user_id: str) -> Scenario | str:
        user = ctx.state["users"][user_id]
        number = rng.choice(sorted(ctx.state["flights"]))
        flight = ctx.state["flights"][number]
        days = sorted(d for d, info in flight["dates"].items() if info.get("status") == "available")
        if not days:
            return "book: the flight has no bookable day"
        day, cabin = rng.choice(days), rng.choice(["basic_economy", "economy", "economy", "business"])
        people = [{"first_name": user["name"]["first_name"], "last_name": user["name"]["last_name"],
                   "dob": user["dob"]}]
        if user.get("saved_passengers") and rng.random() < 0.4:
            people.append(dict(user["saved_passengers"][0]))
        info = flight["dates"][day]
        if info["available_seats"][cabin] < len(people):
            return "book: not enough seats"
        insurance = rng.choice(["yes", "no"])
        bags = rng.choice([0, 1, 2])
        nonfree = rng.choice([0, bags]) if bags else 0
        total = info["prices"][cabin] * len(people) + (30 * len(people) if insurance == "yes" else 0) + 50 * nonfree
        method = self._payment(user, rng, total, ("credit_card", "gift_card"))
        if method is None:
            return "book: no payment method covers the total"
        label = method_label(method)
        who = "just me" if len(people) == 1 else f"me and {people[1]['first_name']} {people[1]['last_name']}"
        instruction = " ".join([
            _hello(rng, user_id, user),
            f"Please book a one-way {_CABIN_WORDS[cabin]} flight from {flight['origin']} to "
            f"{flight['destination']} on {day}, the direct one at {flight['scheduled_departure_time_est'][:5]}, "
            f"for {who}.",
            "Add travel insurance." if insurance == "yes" else "No insurance, thanks.",
            f"{bags} checked bag{'s' if bags != 1 else ''}" + (f", {nonfree} of them paid." if nonfree else "."),
            f"Pay everything with my {label}.",
            _ask(rng, "the reservation id and the total price")])
        args = {"user_id": user_id, "origin": flight["origin"], "destination": flight["destination"],
                "flight_type": "one_way", "cabin": cabin,
                "flights": [{"flight_number": number, "date": day}], "passengers": people,
                "payment_methods": [{"payment_id": method["id"], "amount": total}],
                "total_baggages": bags, "nonfree_baggages": nonfree, "insurance": insurance}

        def finish(values: list[Any]) -> tuple[str, list[str]]:
            rid = values[0]["reservation_id"]
            return f"You're booked: reservation {rid}, {total} dollars in total.", [rid, str(total)]

        given = {"user_id": user_id, "origin": flight["origin"], "destination": flight["destination"],
                 "date": day, "cabin": cabin}
        choice = _flight_choice(number, flight["origin"], flight["destination"], day,
                                flight["scheduled_departure_time_est"][:5], cabin, len(people))
        return Scenario("book", [PlannedCall(name="book_reservation", arguments=args)], given, instruction,
                        finish, labels={method["id"]: label}, constraints=[choice])
