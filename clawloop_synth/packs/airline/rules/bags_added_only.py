# Checked bags can be added, never removed (neither the total nor the paid ones).
tools = ["update_reservation_baggages"]


def check(state, call):
    args = call["arguments"]
    reservation = state.get("reservations", {}).get(args.get("reservation_id"))
    if not isinstance(reservation, dict):
        return None
    total, paid = args.get("total_baggages", 0), args.get("nonfree_baggages", 0)
    rid = str(reservation.get("reservation_id"))
    if total < reservation.get("total_baggages", 0):
        return ("reservation " + rid + " has " + str(reservation.get("total_baggages"))
                + " checked bags: they cannot go down to " + str(total))
    if paid < reservation.get("nonfree_baggages", 0):
        return ("reservation " + rid + " has " + str(reservation.get("nonfree_baggages"))
                + " paid bags: they cannot go down to " + str(paid))
    return None
