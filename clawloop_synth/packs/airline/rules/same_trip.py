# A flight change keeps the trip: the same origin, destination and trip type (one way or round trip),
# the new segments joined end to end.
tools = ["update_reservation_flights"]


def ends(state, reservation, segment):
    for old in reservation.get("flights", []):
        if old.get("flight_number") == segment.get("flight_number") and "origin" in old:
            return old.get("origin"), old.get("destination")
    flight = state.get("flights", {}).get(segment.get("flight_number"))
    if isinstance(flight, dict):
        return flight.get("origin"), flight.get("destination")
    return None


def check(state, call):
    args = call["arguments"]
    reservation = state.get("reservations", {}).get(args.get("reservation_id"))
    segments = [s for s in args.get("flights", []) if isinstance(s, dict)]
    if not isinstance(reservation, dict) or not segments:
        return None
    legs = [ends(state, reservation, s) for s in segments]
    if None in legs:
        return None  # an unknown flight: the API answers that
    origin, destination = reservation.get("origin"), reservation.get("destination")
    route = " -> ".join([legs[0][0]] + [leg[1] for leg in legs])
    problem = None
    if any(before[1] != after[0] for before, after in zip(legs, legs[1:], strict=False)):
        problem = "its segments do not join"
    elif legs[0][0] != origin:
        problem = "it does not start at " + str(origin)
    elif reservation.get("flight_type") == "round_trip":
        if legs[-1][1] != origin or destination not in [leg[1] for leg in legs]:
            problem = "it is not a round trip " + str(origin) + " - " + str(destination)
    elif legs[-1][1] != destination:
        problem = "it does not end at " + str(destination)
    if problem is None:
        return None
    return ("the new itinerary " + route + " of reservation " + str(reservation.get("reservation_id"))
            + " changes the trip: " + problem)
