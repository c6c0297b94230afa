# Basic economy flights cannot be changed (the cabin can: same flights, another cabin).
tools = ["update_reservation_flights"]


def cabin_of(state, reservation):
    # A cabin change re-prices every segment at the new cabin's fare but leaves the reservation's
    # cabin field as it was (the recorded backend does so), so the fares tell the cabin in use.
    segments = reservation.get("flights", [])
    for cabin in ("basic_economy", "economy", "business"):
        if cabin == reservation.get("cabin") or not segments:
            continue
        hits = 0
        for segment in segments:
            flight = state.get("flights", {}).get(segment.get("flight_number"))
            day = flight.get("dates", {}).get(segment.get("date")) if isinstance(flight, dict) else None
            prices = day.get("prices") if isinstance(day, dict) else None
            if isinstance(prices, dict) and prices.get(cabin) == segment.get("price"):
                hits += 1
        if hits == len(segments):
            return cabin
    return reservation.get("cabin")


def check(state, call):
    args = call["arguments"]
    reservation = state.get("reservations", {}).get(args.get("reservation_id"))
    if not isinstance(reservation, dict) or cabin_of(state, reservation) != "basic_economy":
        return None
    old = sorted((s.get("flight_number"), s.get("date")) for s in reservation.get("flights", []))
    new = sorted((s.get("flight_number"), s.get("date")) for s in args.get("flights", []) if isinstance(s, dict))
    if old == new:
        return None
    return "reservation " + str(reservation.get("reservation_id")) + " is basic economy: its flights cannot be changed"
