def invoke(state, reservation_id):
    reservations = state["reservations"]
    if reservation_id not in reservations:
        return "Error: reservation not found"
    reservation = reservations[reservation_id]
    # Every past payment is reversed to the method it came from.
    refunds = []
    for payment in reservation["payment_history"]:
        refunds.append({"payment_id": payment["payment_id"], "amount": -payment["amount"]})
    reservation["payment_history"].extend(refunds)
    reservation["status"] = "cancelled"
    return reservation
