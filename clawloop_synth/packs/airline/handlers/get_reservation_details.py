def invoke(state, reservation_id):
    reservations = state["reservations"]
    if reservation_id not in reservations:
        return "Error: reservation not found"
    return reservations[reservation_id]
