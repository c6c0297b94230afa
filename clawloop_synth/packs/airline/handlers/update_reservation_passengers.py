def invoke(state, reservation_id, passengers):
    reservations = state["reservations"]
    if reservation_id not in reservations:
        return "Error: reservation not found"
    reservation = reservations[reservation_id]
    if len(passengers) != len(reservation["passengers"]):
        return "Error: number of passengers does not match"
    reservation["passengers"] = [dict(p) for p in passengers]
    return reservation
