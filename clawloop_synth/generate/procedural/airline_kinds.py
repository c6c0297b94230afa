"""The airline kinds of request that write (see :mod:`.airline_parts`): the writes the policy allows.
The kinds that make no write (refusals, a transfer, questions) are in :mod:`.airline_asks`."""

from __future__ import annotations

import random
from typing import Any

from clawloop_synth.generate.procedural.airline_parts import (
    BAG_PRICE,
    CABIN_WORDS,
    CABINS,
    FIRST_OPEN_DAY,
    LAST_DAY,
    Part,
    Shop,
    _flight_choice,
    _route,
    method_label,
)
from clawloop_synth.types import PlannedCall

__all__ = ["SPLIT_KINDS", "WRITE_KINDS"]


def _details(rid: str) -> PlannedCall:
    return PlannedCall(name="get_reservation_details", arguments={"reservation_id": rid})


def _refund(res: dict[str, Any]) -> int:
    return sum(p["amount"] for p in res["payment_history"])


def _flown(shop: Shop, res: dict[str, Any]) -> dict[str, Any] | None:
    for segment in res["flights"]:
        status = shop.day(segment["flight_number"], segment["date"]).get("status")
        if status in ("landed", "flying"):
            return segment
    return None


# ------------------------------------------------------------------------------------ writes


def cancel(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = [r for r in shop.reservations(user_id, lambda r: True)
               if shop.allowed("cancel_reservation", {"reservation_id": r["reservation_id"]})]
    if not options:
        return "cancel: no reservation the policy lets the user cancel"
    res = rng.choice(options)
    rid = res["reservation_id"]
    text = rng.choice(["Please cancel reservation {r}.", "I want to cancel my trip {r}; my plans changed.",
                       "Could you cancel booking {r} for me?"]).format(r=rid) + \
        " Tell me how much will be refunded."

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return f"Reservation {rid} is cancelled; {_refund(res)} dollars will be refunded.", [str(_refund(res))]

    return Part("cancel", text, [PlannedCall(name="cancel_reservation", arguments={"reservation_id": rid})],
                {"reservation_id": rid}, finish, reservation=rid)


def bags(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    user = shop.state["users"][user_id]
    res_options = shop.reservations(user_id, shop.future)
    if not res_options:
        return "bags: no upcoming reservation"
    res = rng.choice(res_options)
    extra = rng.choice([1, 1, 2, 3])
    total = res["total_baggages"] + extra
    paid = max(0, total - shop.free_bags(user, shop.cabin_in_use(res), len(res["passengers"])))
    if paid < res["nonfree_baggages"]:
        return "bags: the reservation already pays for more bags than its allowance leaves"
    charge = BAG_PRICE * (paid - res["nonfree_baggages"])
    method = shop.payment(user, rng, charge)
    if method is None:
        return "bags: no payment method covers the bags"
    rid, label = res["reservation_id"], method_label(method)
    args = {"reservation_id": rid, "total_baggages": total, "nonfree_baggages": paid, "payment_id": method["id"]}
    text = rng.choice(["Please add {n} checked bag{s} to reservation {r}; any fee goes on my {m}.",
                       "For booking {r} I need {n} more checked bag{s}. Bill whatever isn't free to my {m}.",
                       "I'm bringing {n} extra checked bag{s} on trip {r}; use my {m} if there's a charge."]).format(
        n=extra, s="s" if extra > 1 else "", r=rid, m=label) + " What will I be charged for them?"

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"Reservation {rid} now has {total} checked bags, {paid} of them paid; the charge is {charge} "
                f"dollars.", [str(charge)])

    return Part("bags", text, [PlannedCall(name="update_reservation_baggages", arguments=args)],
                {"reservation_id": rid}, finish, labels={method["id"]: label}, reservation=rid)


def _one_way_direct(shop: Shop, user_id: str, cabin_ok: Any) -> list[dict[str, Any]]:
    return shop.reservations(user_id, lambda r: r["flight_type"] == "one_way" and len(r["flights"]) == 1
                             and shop.future(r) and cabin_ok(shop.cabin_in_use(r)))


def _new_day(rng: random.Random, old: str) -> str | None:
    day = old[:8] + f"{int(old[8:]) + rng.choice([-2, -1, 1, 2, 3]):02d}"
    return day if FIRST_OPEN_DAY <= day <= LAST_DAY else None


def change(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    user = shop.state["users"][user_id]
    options = _one_way_direct(shop, user_id, lambda cabin: cabin != "basic_economy")
    if not options:
        return "change: no one-way direct reservation that may change flights"
    res = rng.choice(options)
    old = res["flights"][0]
    day = _new_day(rng, old["date"])
    if day is None:
        return "change: the new day is out of range"
    numbers = shop.direct(res["origin"], res["destination"], day, res["cabin"], len(res["passengers"]))
    method = shop.payment(user, rng, 10_000, ("credit_card",))
    if not numbers or method is None:
        return "change: no flight on the new day or no credit card"
    number = rng.choice(numbers)
    flight = shop.state["flights"][number]
    time = flight["scheduled_departure_time_est"][:5]
    rid, label = res["reservation_id"], method_label(method)
    args = {"reservation_id": rid, "cabin": res["cabin"], "flights": [{"flight_number": number, "date": day}],
            "payment_id": method["id"]}
    if not shop.allowed("update_reservation_flights", args):
        return "change: the rules forbid this change"
    diff = (shop.day(number, day)["prices"][res["cabin"]] - old["price"]) * len(res["passengers"])
    text = (f"I need to move my {_route(res)} ({rid}) from {old['date']} to {day}, on the direct flight that leaves "
            f"at {time}; same cabin. Any difference goes on my {label}. Tell me the new flight number and the fare "
            "difference.")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"Reservation {rid} is now on flight {number} on {day}; the fare difference is {diff} dollars.",
                [number, str(diff)])

    given = {"reservation_id": rid, "date": day, "origin": res["origin"], "destination": res["destination"]}
    choice = _flight_choice(number, res["origin"], res["destination"], day, time, res["cabin"], len(res["passengers"]))
    return Part("change", text, [PlannedCall(name="update_reservation_flights", arguments=args)], given, finish,
                labels={method["id"]: label}, constraints=[choice], reservation=rid)


def cabin(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    user = shop.state["users"][user_id]
    options = shop.reservations(user_id, lambda r: shop.future(r) and shop.cabin_in_use(r) != "business" and all(
        shop.day(s["flight_number"], s["date"]).get("status") == "available" for s in r["flights"]))
    if not options:
        return "cabin: no upcoming reservation below business"
    res = rng.choice(options)
    now = shop.cabin_in_use(res)
    new = rng.choice([c for c in CABINS[CABINS.index(now) + 1:]])
    people = len(res["passengers"])
    if not all(shop.bookable(s["flight_number"], s["date"], new, people) for s in res["flights"]):
        return "cabin: no seats in the new cabin"
    diff = sum(shop.day(s["flight_number"], s["date"])["prices"][new] - s["price"] for s in res["flights"]) * people
    method = shop.payment(user, rng, diff)
    if method is None:
        return "cabin: no payment method covers the difference"
    rid, label = res["reservation_id"], method_label(method)
    args = {"reservation_id": rid, "cabin": new,
            "flights": [{"flight_number": s["flight_number"], "date": s["date"]} for s in res["flights"]],
            "payment_id": method["id"]}
    text = (f"Please upgrade reservation {rid} to {CABIN_WORDS[new]} on the same flights, paying with my {label}. "
            "How much is the difference?")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return f"Reservation {rid} is now in {CABIN_WORDS[new]}; the difference is {diff} dollars.", [str(diff)]

    return Part("cabin", text, [PlannedCall(name="update_reservation_flights", arguments=args)],
                {"reservation_id": rid}, finish, labels={method["id"]: label}, reservation=rid)


def passengers(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    user = shop.state["users"][user_id]
    saved = user.get("saved_passengers") or []
    options = shop.reservations(user_id, shop.future)
    if not saved or not options:
        return "passengers: no saved passenger or no upcoming reservation"
    res = rng.choice(options)
    names = {(p["first_name"], p["last_name"]) for p in res["passengers"]}
    newcomers = [p for p in saved if (p["first_name"], p["last_name"]) not in names]
    if not newcomers:
        return "passengers: every saved passenger already flies"
    old, new = rng.choice(res["passengers"]), rng.choice(newcomers)
    people = [dict(new) if p is old else dict(p) for p in res["passengers"]]
    rid = res["reservation_id"]
    text = (f"On reservation {rid}, please replace {old['first_name']} {old['last_name']} with "
            f"{new['first_name']} {new['last_name']}; their details are saved in my profile. Confirm the date of "
            "birth you put in.")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"{new['first_name']} {new['last_name']} (born {new['dob']}) now flies on reservation {rid}.",
                [new["dob"]])

    return Part("passengers", text, [PlannedCall(name="update_reservation_passengers",
                                                 arguments={"reservation_id": rid, "passengers": people})],
                {"reservation_id": rid}, finish, reservation=rid)


def _cancelled_segment(shop: Shop, res: dict[str, Any]) -> dict[str, Any] | None:
    return next((s for s in res["flights"]
                 if shop.day(s["flight_number"], s["date"]).get("status") == "cancelled"), None)


def _compensation(shop: Shop, user_id: str, eligible: bool) -> list[dict[str, Any]]:
    out = []
    for res in shop.reservations(user_id, lambda r: _cancelled_segment(shop, r) is not None):
        args = {"user_id": user_id, "amount": 100 * len(res["passengers"])}
        if shop.allowed("send_certificate", args) == eligible:
            out.append(res)
    return out


def certificate(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = _compensation(shop, user_id, eligible=True)
    if not options:
        return "certificate: no airline-cancelled flight of an eligible user"
    res = rng.choice(options)
    segment = _cancelled_segment(shop, res)
    assert segment is not None
    rid, amount = res["reservation_id"], 100 * len(res["passengers"])
    text = (f"My flight {segment['flight_number']} on {segment['date']} (reservation {rid}) was cancelled by the "
            "airline and it ruined my plans. I'd like some compensation for it. How much will I get?")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return f"As a gesture, a certificate of {amount} dollars is now in your profile.", [str(amount)]

    return Part("certificate", text, [PlannedCall(name="send_certificate",
                                                  arguments={"user_id": user_id, "amount": amount})],
                {"reservation_id": rid}, finish, reads=[_details(rid)], reservation=rid)


def _pick_flight(shop: Shop, rng: random.Random, origin: str | None, cabin: str, seats: int,
                 day: str | None = None, destination: str | None = None) -> tuple[str, str] | None:
    numbers = [n for n, f in sorted(shop.state["flights"].items())
               if (origin is None or f["origin"] == origin)
               and (destination is None or f["destination"] == destination)]
    rng.shuffle(numbers)
    for number in numbers[:20]:
        days = [d for d in sorted(shop.state["flights"][number]["dates"]) if (day is None or d == day)
                and shop.bookable(number, d, cabin, seats)]
        if days:
            return number, rng.choice(days)
    return None


def _split(user: dict[str, Any], rng: random.Random, total: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A gift card whose balance does not cover ``total`` and a credit card for the rest."""
    methods = [m for _, m in sorted(user["payment_methods"].items())]
    gifts = [m for m in methods if m["source"] == "gift_card" and 0 < m.get("amount", 0) < total]
    cards = [m for m in methods if m["source"] == "credit_card"]
    return (rng.choice(gifts), rng.choice(cards)) if gifts and cards else None


def _book(shop: Shop, rng: random.Random, user_id: str, legs: str, split: bool = False) -> Part | str:
    user = shop.state["users"][user_id]
    cabin = rng.choice(["basic_economy", "economy", "economy", "business"])
    people = [{"first_name": user["name"]["first_name"], "last_name": user["name"]["last_name"], "dob": user["dob"]}]
    if user.get("saved_passengers") and rng.random() < 0.4:
        people.append(dict(user["saved_passengers"][0]))
    first = _pick_flight(shop, rng, None, cabin, len(people))
    if first is None:
        return "book: no bookable flight"
    number, day = first
    flight = shop.state["flights"][number]
    chosen = [(number, day)]
    if legs == "round_trip":
        back_day = _new_day(rng, day) if day < "2024-05-28" else None
        back = _pick_flight(shop, rng, flight["destination"], cabin, len(people), back_day, flight["origin"]) \
            if back_day and back_day > day else None
        if back is None:
            return "book: no return flight"
        chosen.append(back)
    elif legs == "one_stop":
        if flight["scheduled_arrival_time_est"].endswith("+1"):
            return "book: overnight first leg"
        options = [n for n, f in sorted(shop.state["flights"].items()) if f["origin"] == flight["destination"]
                   and f["destination"] != flight["origin"] and f["scheduled_departure_time_est"]
                   > flight["scheduled_arrival_time_est"] and shop.bookable(n, day, cabin, len(people))]
        if not options:
            return "book: no connection"
        chosen.append((rng.choice(options), day))
    flights = [shop.state["flights"][n] for n, _ in chosen]
    origin = flights[0]["origin"]
    destination = flights[0]["destination"] if legs == "round_trip" else flights[-1]["destination"]
    insurance = rng.choice(["yes", "no"])
    total_bags = rng.choice([0, 1, 2, 3])
    paid = max(0, total_bags - shop.free_bags(user, cabin, len(people)))
    total = sum(shop.day(n, d)["prices"][cabin] for n, d in chosen) * len(people) \
        + (30 * len(people) if insurance == "yes" else 0) + BAG_PRICE * paid
    pair = _split(user, rng, total) if split else None
    if split and pair is None:
        return "book: no gift card short of the total and credit card to split it"
    method = pair[1] if pair else shop.payment(user, rng, total)
    if method is None:
        return "book: no payment method covers the total"
    label = method_label(method)
    labels = {method["id"]: label}
    paying = f"Pay with my {label}. "
    payments = [{"payment_id": method["id"], "amount": total}]
    if pair:  # the gift card's whole balance first, the rest (a sum the agent works out) on the card
        gift = pair[0]
        labels[gift["id"]] = method_label(gift)
        paying = f"Use up all of my {method_label(gift)} and put the rest on my {label}. "
        payments = [{"payment_id": gift["id"], "amount": gift["amount"]},
                    {"payment_id": method["id"], "amount": total - gift["amount"]}]
    who = "just me" if len(people) == 1 else f"me and {people[1]['first_name']} {people[1]['last_name']}"
    times = [f["scheduled_departure_time_est"][:5] for f in flights]
    if legs == "round_trip":
        trip = (f"a round trip in {CABIN_WORDS[cabin]} from {origin} to {destination}, out on {day} on the direct "
                f"flight at {times[0]} and back on {chosen[1][1]} on the direct flight at {times[1]}")
    elif legs == "one_stop":
        trip = (f"a one-way {CABIN_WORDS[cabin]} trip from {origin} to {destination} on {day} with one stop in "
                f"{flights[0]['destination']}: the {times[0]} flight, then the connection at {times[1]}")
    else:
        trip = (f"a one-way {CABIN_WORDS[cabin]} flight from {origin} to {destination} on {day}, the direct one at "
                f"{times[0]}")
    text = (f"Please book {trip}, for {who}. " + ("Add travel insurance. " if insurance == "yes" else
                                                   "No insurance, thanks. ")
            + f"We'll have {total_bags} checked bag{'s' if total_bags != 1 else ''} in all. {paying}"
            "Tell me the reservation id and the total price.")
    args = {"user_id": user_id, "origin": origin, "destination": destination,
            "flight_type": "round_trip" if legs == "round_trip" else "one_way", "cabin": cabin,
            "flights": [{"flight_number": n, "date": d} for n, d in chosen], "passengers": people,
            "payment_methods": payments,
            "total_baggages": total_bags, "nonfree_baggages": paid, "insurance": insurance}

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        rid = values[0]["reservation_id"]
        return f"You're booked: reservation {rid}, {total} dollars in total.", [rid, str(total)]

    choices = [_flight_choice(n, f["origin"], f["destination"], d, f["scheduled_departure_time_est"][:5], cabin,
                              len(people)) for (n, d), f in zip(chosen, flights, strict=True)]
    reads: list[PlannedCall] = []
    if legs == "one_stop":
        reads = [PlannedCall(name="search_onestop_flight",
                             arguments={"origin": origin, "destination": destination, "date": day})]
    else:
        reads = [PlannedCall(name="search_direct_flight", arguments={"origin": f["origin"],
                                                                      "destination": f["destination"], "date": d})
                 for (n, d), f in zip(chosen, flights, strict=True)]
    kind = {"direct": "book", "round_trip": "book round trip", "one_stop": "book one-stop"}[legs] \
        + (", split payment" if pair else "")
    return Part(kind, text, [PlannedCall(name="book_reservation", arguments=args)],
                {"user_id": user_id, "origin": origin, "destination": destination, "date": day, "cabin": cabin},
                finish, reads=reads, labels=labels, constraints=choices)


def book(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    return _book(shop, rng, user_id, "direct")


def book_round_trip(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    return _book(shop, rng, user_id, "round_trip")


def book_one_stop(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    return _book(shop, rng, user_id, "one_stop")


WRITE_KINDS = {"cancel": cancel, "bags": bags, "change": change, "cabin": cabin, "passengers": passengers,
               "certificate": certificate, "book": book, "book round trip": book_round_trip,
               "book one-stop": book_one_stop}

# Bookings paid from a gift card that does not cover the price, the rest on a card: the sum a
# careless agent gets wrong (the kit draws these for calculation errors).
SPLIT_KINDS = {"book, split payment": lambda shop, rng, user_id: _book(shop, rng, user_id, "direct", split=True),
               "book round trip, split payment":
                   lambda shop, rng, user_id: _book(shop, rng, user_id, "round_trip", split=True)}
