# A reservation carries one to five passengers, and a passenger change keeps their number.
tools = ["book_reservation", "update_reservation_passengers"]


def check(state, call):
    args = call["arguments"]
    people = len(args.get("passengers", []))
    if call["name"] == "book_reservation":
        if people > 5:
            return "a reservation has at most five passengers, not " + str(people)
        return None
    reservation = state.get("reservations", {}).get(args.get("reservation_id"))
    if not isinstance(reservation, dict):
        return None
    before = len(reservation.get("passengers", []))
    if people != before:
        return ("reservation " + str(reservation.get("reservation_id")) + " has " + str(before)
                + " passenger(s): the number cannot change to " + str(people))
    return None
