def invoke(state, reservation_id, cabin, flights, payment_id):
    reservations = state["reservations"]
    if reservation_id not in reservations:
        return "Error: reservation not found"
    reservation = reservations[reservation_id]
    seats = len(reservation["passengers"])
    new_flights = []
    total = 0
    for wanted in flights:
        number = wanted["flight_number"]
        date = wanted["date"]
        kept = None
        if cabin == reservation["cabin"]:
            for old in reservation["flights"]:
                if old["flight_number"] == number and old["date"] == date:
                    kept = old
                    break
        if kept is not None:
            # An unchanged segment keeps the price it was bought at.
            entry = {
                "flight_number": number,
                "date": date,
                "price": kept["price"],
                "origin": kept["origin"],
                "destination": kept["destination"],
            }
        else:
            if number not in state["flights"]:
                return "Error: flight " + number + " not found"
            flight = state["flights"][number]
            day = flight["dates"].get(date)
            if day is None:
                return "Error: flight " + number + " not found on date " + date
            if day["status"] != "available":
                return "Error: flight " + number + " not available on date " + date
            if day["available_seats"][cabin] < seats:
                return "Error: not enough seats on flight " + number
            entry = {
                "flight_number": number,
                "date": date,
                "price": day["prices"][cabin],
                "origin": flight["origin"],
                "destination": flight["destination"],
            }
        new_flights.append(entry)
        total += entry["price"] * seats
    total -= sum(old["price"] for old in reservation["flights"]) * seats
    method = state["users"][reservation["user_id"]]["payment_methods"].get(payment_id)
    if method is None:
        return "Error: payment method not found"
    if method["source"] == "certificate":
        return "Error: certificate cannot be used to update reservation"
    if method["source"] == "gift_card" and method["amount"] < total:
        return "Error: gift card balance is not enough"
    if method["source"] == "gift_card":
        method["amount"] -= total
    reservation["flights"] = new_flights
    # The recorded backend re-prices segments in the new cabin but leaves the reservation's
    # cabin field as it was; we keep that behaviour so replays agree with the recordings.
    if total != 0:
        reservation["payment_history"].append({"payment_id": payment_id, "amount": total})
    return reservation
