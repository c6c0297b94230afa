NOW = "2024-05-15T15:00:00"
FREE_ID_SUFFIXES = "TUVWXYZ"


def new_reservation_id(reservations):
    # Deterministic ids so that replays and reference runs agree on the final state.
    for letter in FREE_ID_SUFFIXES:
        candidate = "HATHA" + letter
        if candidate not in reservations:
            return candidate
    return None


def invoke(
    state,
    user_id,
    origin,
    destination,
    flight_type,
    cabin,
    flights,
    passengers,
    payment_methods,
    total_baggages,
    nonfree_baggages,
    insurance,
):
    users = state["users"]
    reservations = state["reservations"]
    if user_id not in users:
        return "Error: user not found"
    user = users[user_id]
    booked = []
    total = 0
    for wanted in flights:
        number = wanted["flight_number"]
        if number not in state["flights"]:
            return "Error: flight " + number + " not found"
        flight = state["flights"][number]
        day = flight["dates"].get(wanted["date"])
        if day is None:
            return "Error: flight " + number + " not found on date " + wanted["date"]
        if day["status"] != "available":
            return "Error: flight " + number + " not available on date " + wanted["date"]
        if day["available_seats"][cabin] < len(passengers):
            return "Error: not enough seats on flight " + number
        price = day["prices"][cabin]
        booked.append(
            {
                "flight_number": number,
                "date": wanted["date"],
                "price": price,
                "origin": flight["origin"],
                "destination": flight["destination"],
            }
        )
        total += price * len(passengers)
    if insurance == "yes":
        total += 30 * len(passengers)
    total += 50 * nonfree_baggages
    for payment in payment_methods:
        method = user["payment_methods"].get(payment["payment_id"])
        if method is None:
            return "Error: payment method " + payment["payment_id"] + " not found"
        if method["source"] in ("gift_card", "certificate") and method["amount"] < payment["amount"]:
            return "Error: not enough balance in payment method " + payment["payment_id"]
    paid = sum(payment["amount"] for payment in payment_methods)
    if paid != total:
        return "Error: payment amount does not add up, total price is " + str(total) + ", but paid " + str(paid)
    for payment in payment_methods:
        method = user["payment_methods"][payment["payment_id"]]
        if method["source"] == "gift_card":
            method["amount"] -= payment["amount"]
        elif method["source"] == "certificate":
            # A certificate is single use: it disappears once spent.
            user["payment_methods"].pop(payment["payment_id"])
    reservation_id = new_reservation_id(reservations)
    if reservation_id is None:
        return "Error: too many new reservations"
    reservation = {
        "reservation_id": reservation_id,
        "user_id": user_id,
        "origin": origin,
        "destination": destination,
        "flight_type": flight_type,
        "cabin": cabin,
        "flights": booked,
        "passengers": [dict(p) for p in passengers],
        "payment_history": [dict(p) for p in payment_methods],
        "created_at": NOW,
        "total_baggages": total_baggages,
        "nonfree_baggages": nonfree_baggages,
        "insurance": insurance,
    }
    reservations[reservation_id] = reservation
    user["reservations"].append(reservation_id)
    return reservation
