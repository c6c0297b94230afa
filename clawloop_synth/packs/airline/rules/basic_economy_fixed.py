# Basic economy flights cannot be changed (the cabin can: same flights, another cabin).
tools = ["update_reservation_flights"]


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
