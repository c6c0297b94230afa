BAG_PRICE = 50


def invoke(state, reservation_id, total_baggages, nonfree_baggages, payment_id):
    reservations = state["reservations"]
    if reservation_id not in reservations:
        return "Error: reservation not found"
    reservation = reservations[reservation_id]
    # Only bags beyond those already paid for cost money; removing bags refunds nothing.
    total = BAG_PRICE * max(0, nonfree_baggages - reservation["nonfree_baggages"])
    method = state["users"][reservation["user_id"]]["payment_methods"].get(payment_id)
    if method is None:
        return "Error: payment method not found"
    if method["source"] == "certificate":
        return "Error: certificate cannot be used to update reservation"
    if method["source"] == "gift_card" and method["amount"] < total:
        return "Error: gift card balance is not enough"
    reservation["total_baggages"] = total_baggages
    reservation["nonfree_baggages"] = nonfree_baggages
    if method["source"] == "gift_card":
        method["amount"] -= total
    if total != 0:
        reservation["payment_history"].append({"payment_id": payment_id, "amount": total})
    return reservation
