"""OpenAI function schemas of the airline tools, inferred from the arguments real agents sent.

Argument shapes come from the recorded calls (every recorded call validates against these); the
descriptions are ours. Nested objects allow extra keys because real agents send them (e.g. an
``origin`` inside a flight of ``update_reservation_flights``) and the backend ignored them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DESCRIPTIONS", "PARAMETERS", "WRITES"]

_CABIN = {"type": "string", "enum": ["basic_economy", "economy", "business"]}
_DATE = {"type": "string", "description": "A date as YYYY-MM-DD."}
_AIRPORT = {"type": "string", "description": "A three-letter IATA airport code, e.g. JFK."}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


_FLIGHT_REF = _obj(
    {"flight_number": {"type": "string", "description": "Such as HAT001."}, "date": _DATE},
)
_PASSENGER = _obj(
    {
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "dob": {"type": "string", "description": "Date of birth as YYYY-MM-DD."},
    }
)
_PAYMENT = _obj(
    {
        "payment_id": {"type": "string", "description": "A payment method id from the user's profile."},
        "amount": {"type": "number", "description": "The amount charged to this method, in dollars."},
    }
)
_RESERVATION_ID = {"type": "string", "description": "A six-character reservation id, such as ZFA04Y."}
_USER_ID = {"type": "string", "description": "The user's id, such as sara_doe_496."}
_PAYMENT_ID = {"type": "string", "description": "A payment method id from the user's profile."}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "additionalProperties": False}


PARAMETERS: dict[str, dict[str, Any]] = {
    "get_user_details": _strict(_obj({"user_id": _USER_ID})),
    "get_reservation_details": _strict(_obj({"reservation_id": _RESERVATION_ID})),
    "search_direct_flight": _strict(_obj({"origin": _AIRPORT, "destination": _AIRPORT, "date": _DATE})),
    "search_onestop_flight": _strict(_obj({"origin": _AIRPORT, "destination": _AIRPORT, "date": _DATE})),
    "list_all_airports": _strict(_obj({})),
    "book_reservation": _strict(
        _obj(
            {
                "user_id": _USER_ID,
                "origin": _AIRPORT,
                "destination": _AIRPORT,
                "flight_type": {"type": "string", "enum": ["one_way", "round_trip"]},
                "cabin": _CABIN,
                "flights": {"type": "array", "items": _FLIGHT_REF, "description": "Every segment, in order."},
                "passengers": {"type": "array", "items": _PASSENGER},
                "payment_methods": {"type": "array", "items": _PAYMENT},
                "total_baggages": {"type": "integer", "minimum": 0},
                "nonfree_baggages": {"type": "integer", "minimum": 0},
                "insurance": {"type": "string", "enum": ["yes", "no"]},
            }
        )
    ),
    "cancel_reservation": _strict(_obj({"reservation_id": _RESERVATION_ID})),
    "update_reservation_flights": _strict(
        _obj(
            {
                "reservation_id": _RESERVATION_ID,
                "cabin": _CABIN,
                "flights": {
                    "type": "array",
                    "items": _FLIGHT_REF,
                    "description": "The complete new itinerary, unchanged segments included.",
                },
                "payment_id": _PAYMENT_ID,
            }
        )
    ),
    "update_reservation_baggages": _strict(
        _obj(
            {
                "reservation_id": _RESERVATION_ID,
                "total_baggages": {"type": "integer", "minimum": 0},
                "nonfree_baggages": {"type": "integer", "minimum": 0},
                "payment_id": _PAYMENT_ID,
            }
        )
    ),
    "update_reservation_passengers": _strict(
        _obj({"reservation_id": _RESERVATION_ID, "passengers": {"type": "array", "items": _PASSENGER}})
    ),
    "send_certificate": _strict(
        _obj({"user_id": _USER_ID, "amount": {"type": "number", "description": "Certificate value in dollars."}})
    ),
    "calculate": _strict(
        _obj(
            {
                "expression": {
                    "type": "string",
                    "description": "Arithmetic with numbers, + - * / ** // and parentheses, e.g. '2 * (3 + 4)'.",
                }
            }
        )
    ),
    "think": _strict(_obj({"thought": {"type": "string"}})),
    "transfer_to_human_agents": _strict(
        _obj({"summary": {"type": "string", "description": "What the user needs, for the human agent."}})
    ),
}

DESCRIPTIONS: dict[str, str] = {
    "get_user_details": "Look up a user's profile: name, address, payment methods, saved passengers, "
    "membership tier and reservation ids.",
    "get_reservation_details": "Look up one reservation: itinerary, cabin, passengers, payments, baggage "
    "and insurance.",
    "search_direct_flight": "List the nonstop flights between two airports on a date that can still be "
    "booked, with seats left and prices per cabin.",
    "search_onestop_flight": "List the bookable two-segment itineraries (one connection) between two "
    "airports leaving on a date, with seats left and prices per cabin for each segment.",
    "list_all_airports": "List every airport served, as code and city.",
    "book_reservation": "Book a new reservation for a user and charge it to the given payment methods; "
    "the amounts must add up to the total price (fares, $30 insurance per passenger, $50 per non-free bag).",
    "cancel_reservation": "Cancel a whole reservation and refund every payment made on it.",
    "update_reservation_flights": "Change the flights (and cabin pricing) of a reservation; the price "
    "difference is charged to, or refunded to, one payment method. Certificates cannot be used.",
    "update_reservation_baggages": "Set the number of checked bags of a reservation; new non-free bags "
    "cost $50 each, charged to one payment method. Certificates cannot be used.",
    "update_reservation_passengers": "Replace the passenger details of a reservation; the number of "
    "passengers cannot change.",
    "send_certificate": "Add a travel certificate of the given amount to a user's payment methods, as compensation.",
    "calculate": "Evaluate an arithmetic expression and return the result rounded to 2 decimals.",
    "think": "Write down a reasoning step. It changes nothing and returns nothing.",
    "transfer_to_human_agents": "Hand the conversation over to a human agent, with a summary of the "
    "user's request. Use only when the request cannot be handled with the other tools.",
}

WRITES = frozenset(
    {
        "book_reservation",
        "cancel_reservation",
        "update_reservation_flights",
        "update_reservation_baggages",
        "update_reservation_passengers",
        "send_certificate",
    }
)
