# Free checked bags per passenger by the booking user's membership and the cabin; only bags beyond the
# allowance are paid (50 dollars each): charging a free bag, or leaving an extra one unpaid, is wrong.
tools = ["book_reservation", "update_reservation_baggages"]
FREE = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 3},
}


def check(state, call):
    args = call["arguments"]
    if call["name"] == "book_reservation":
        user_id, cabin, people = args.get("user_id"), args.get("cabin"), len(args.get("passengers", []))
    else:
        reservation = state.get("reservations", {}).get(args.get("reservation_id"))
        if not isinstance(reservation, dict):
            return None
        user_id, cabin = reservation.get("user_id"), cabin_of(state, reservation)
        people = len(reservation.get("passengers", []))
    user = state.get("users", {}).get(user_id)
    if not isinstance(user, dict):
        return None
    per_person = FREE.get(user.get("membership"), {}).get(cabin)
    if per_person is None:
        return None
    free = per_person * people
    total, paid = args.get("total_baggages", 0), args.get("nonfree_baggages", 0)
    due = max(0, total - free)
    if paid == due:
        return None
    return (str(total) + " checked bags with " + str(free) + " free (" + str(user.get("membership")) + " member, "
            + str(cabin).replace("_", " ") + ", " + str(people) + " passenger(s)) means " + str(due) + " paid, not "
            + str(paid))
