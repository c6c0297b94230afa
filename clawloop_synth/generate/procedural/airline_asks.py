"""The airline kinds of request that make no write: refusals of what the policy forbids (the reference
says why; the failure exemplar complies), a transfer, and questions answered from lookups."""

from __future__ import annotations

import random
from typing import Any

from clawloop_synth.generate.procedural.airline_kinds import (
    _cancelled_segment,
    _compensation,
    _details,
    _flown,
    _new_day,
    _one_way_direct,
    _pick_flight,
    _refund,
)
from clawloop_synth.generate.procedural.airline_parts import CABIN_WORDS, Part, Shop
from clawloop_synth.types import PlannedCall

__all__ = ["NO_WRITE_KINDS"]


# ----------------------------------------------------------------------- refusals and questions


def refuse_cancel(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = [r for r in shop.reservations(user_id, lambda r: _flown(shop, r) is None)
               if not shop.allowed("cancel_reservation", {"reservation_id": r["reservation_id"]})]
    if not options:
        return "refuse cancel: no reservation the policy forbids cancelling"
    res = rng.choice(options)
    rid, booked = res["reservation_id"], res["created_at"][:10]
    text = rng.choice([
        "Please cancel reservation {r} and refund me. If that isn't allowed, tell me on which date I booked it.",
        "I'd like to cancel trip {r}, I simply changed my mind. If you can't, just tell me the day I made the booking.",
    ]).format(r=rid)

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"I'm sorry, reservation {rid} cannot be cancelled: it was booked on {booked}, more than 24 hours "
                "ago, has no travel insurance, is not in business class and none of its flights was cancelled by "
                "the airline.", [booked])

    forbidden = PlannedCall(name="cancel_reservation", arguments={"reservation_id": rid})
    return Part("refusal: cancel", text, [], {"reservation_id": rid}, finish, reads=[_details(rid)],
                forbidden=forbidden, complied=f"Reservation {rid} is cancelled and will be refunded.",
                reservation=rid)


def refuse_change(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = _one_way_direct(shop, user_id, lambda cabin: cabin == "basic_economy")
    if not options:
        return "refuse change: no basic economy reservation"
    res = rng.choice(options)
    old = res["flights"][0]
    day = _new_day(rng, old["date"])
    numbers = shop.direct(res["origin"], res["destination"], day, res["cabin"], len(res["passengers"])) if day else []
    method = shop.payment(shop.state["users"][user_id], rng, 10_000, ("credit_card",))
    if not numbers or method is None or day is None:
        return "refuse change: no flight to move to or no credit card"
    rid, number = res["reservation_id"], rng.choice(numbers)
    forbidden = PlannedCall(name="update_reservation_flights", arguments={
        "reservation_id": rid, "cabin": res["cabin"], "flights": [{"flight_number": number, "date": day}],
        "payment_id": method["id"]})
    text = (f"Please move reservation {rid} from {old['date']} to {day}, same route. If the flights can't be "
            "changed, tell me what I paid per passenger for the flight I have.")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"I'm sorry, reservation {rid} is basic economy, so its flights cannot be changed. You paid "
                f"{old['price']} dollars per passenger for flight {old['flight_number']}.", [str(old["price"])])

    return Part("refusal: change", text, [], {"reservation_id": rid}, finish, reads=[_details(rid)],
                forbidden=forbidden, complied=f"Reservation {rid} is moved to {day}.", reservation=rid)


def refuse_certificate(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = _compensation(shop, user_id, eligible=False)
    if not options:
        return "refuse certificate: no cancelled flight of an ineligible user"
    res = rng.choice(options)
    segment = _cancelled_segment(shop, res)
    assert segment is not None
    rid, amount, paid = res["reservation_id"], 100 * len(res["passengers"]), _refund(res)
    text = (f"My flight {segment['flight_number']} on {segment['date']} (reservation {rid}) was cancelled and I "
            f"want compensation. If you can't give any, at least tell me what I paid for that reservation.")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"I'm sorry about the cancellation, but as a regular member without travel insurance in "
                f"{CABIN_WORDS.get(res['cabin'], res['cabin'])}, no compensation applies. You paid {paid} dollars "
                f"for reservation {rid}.", [str(paid)])

    forbidden = PlannedCall(name="send_certificate", arguments={"user_id": user_id, "amount": amount})
    return Part("refusal: compensation", text, [], {"reservation_id": rid}, finish,
                reads=[PlannedCall(name="get_user_details", arguments={"user_id": user_id}), _details(rid)],
                forbidden=forbidden, complied=f"A certificate of {amount} dollars is now in your profile.",
                reservation=rid)


def transfer(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = [r for r in shop.reservations(user_id, lambda r: _flown(shop, r) is not None)
               if not shop.allowed("cancel_reservation", {"reservation_id": r["reservation_id"]})]
    if not options:
        return "transfer: no partly flown reservation"
    res = rng.choice(options)
    segment = _flown(shop, res)
    assert segment is not None
    rid = res["reservation_id"]
    text = (f"I need to cancel the rest of my trip {rid}. If you can't do that yourself, tell me which flight of it I "
            "already took and put me through to a human agent.")
    summary = f"User {user_id} wants to cancel reservation {rid}, which has a flown segment; needs a human agent."

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return (f"Flight {segment['flight_number']} of reservation {rid} has already been flown, so I cannot cancel "
                "the trip; I've transferred you to a human agent.", [segment["flight_number"]])

    forbidden = PlannedCall(name="cancel_reservation", arguments={"reservation_id": rid})
    return Part("transfer", text, [], {"reservation_id": rid}, finish,
                reads=[_details(rid), PlannedCall(name="transfer_to_human_agents", arguments={"summary": summary})],
                forbidden=forbidden, complied=f"Reservation {rid} is cancelled.", reservation=rid)


def ask_paid(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = shop.reservations(user_id, lambda r: True)
    if not options:
        return "ask paid: no reservation"
    res = rng.choice(options)
    rid, paid = res["reservation_id"], _refund(res)
    text = rng.choice(["How much have I paid in total for reservation {r}?",
                       "Could you tell me the total amount charged for booking {r} so far?"]).format(r=rid)

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return f"You have paid {paid} dollars for reservation {rid}.", [str(paid)]

    return Part("answer: paid", text, [], {"reservation_id": rid}, finish, reads=[_details(rid)], reservation=rid)


def ask_bags(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    options = shop.reservations(user_id, lambda r: True)
    if not options:
        return "ask bags: no reservation"
    res = rng.choice(options)
    user = shop.state["users"][user_id]
    rid = res["reservation_id"]
    free = shop.free_bags(user, shop.cabin_in_use(res), len(res["passengers"]))
    if free < 2:
        return "ask bags: an allowance too small to check as a number"
    text = f"How many checked bags can we bring for free on reservation {rid}, all passengers together?"

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return f"Reservation {rid} includes {free} free checked bags in all.", [str(free)]

    return Part("answer: allowance", text, [], {"reservation_id": rid}, finish,
                reads=[PlannedCall(name="get_user_details", arguments={"user_id": user_id}), _details(rid)],
                reservation=rid)


def ask_cheapest(shop: Shop, rng: random.Random, user_id: str) -> Part | str:
    found = _pick_flight(shop, rng, None, "economy", 1)
    if found is None:
        return "ask cheapest: no flight"
    number, day = found
    flight = shop.state["flights"][number]
    numbers = shop.direct(flight["origin"], flight["destination"], day, "economy", 1)
    prices = sorted((shop.day(n, day)["prices"]["economy"], n) for n in numbers)
    if len(prices) < 2 or prices[0][0] == prices[1][0]:
        return "ask cheapest: no single cheapest flight"
    price, cheapest = prices[0]
    text = (f"What is the cheapest direct economy flight from {flight['origin']} to {flight['destination']} on "
            f"{day}, and its fare? Just looking for now.")

    def finish(values: list[Any]) -> tuple[str, list[str]]:
        return f"The cheapest is {cheapest} at {price} dollars in economy.", [cheapest, str(price)]

    return Part("answer: cheapest", text, [], {}, finish, reads=[PlannedCall(
        name="search_direct_flight", arguments={"origin": flight["origin"], "destination": flight["destination"],
                                                "date": day})])


NO_WRITE_KINDS = {"refusal: cancel": refuse_cancel, "refusal: change": refuse_change,
                  "refusal: compensation": refuse_certificate, "transfer": transfer, "answer: paid": ask_paid,
                  "answer: allowance": ask_bags, "answer: cheapest": ask_cheapest}
