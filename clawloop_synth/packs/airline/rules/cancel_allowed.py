# Cancelling a trip: allowed within a day of booking, when the airline cancelled one of its flights,
# in business cabin, or with travel insurance (the covered reason is the user's word, which the state
# does not hold, so insurance passes). Otherwise never once a segment has been flown, and never twice.
# "Business flights can always be cancelled" is read as overriding the flown-segment rule: the
# recorded gold actions cancel a flown business trip.
tools = ["cancel_reservation"]
NOW = "2024-05-15T15:00:00"
DAY_BEFORE = "2024-05-14T15:00:00"


def day_status(state, segment):
    flight = state.get("flights", {}).get(segment.get("flight_number"))
    if not isinstance(flight, dict):
        return None
    day = flight.get("dates", {}).get(segment.get("date"))
    return day.get("status") if isinstance(day, dict) else None


def check(state, call):
    reservation = state.get("reservations", {}).get(call["arguments"].get("reservation_id"))
    if not isinstance(reservation, dict):
        return None
    rid = reservation.get("reservation_id", "")
    if reservation.get("status") == "cancelled":
        return "reservation " + rid + " is already cancelled"
    if cabin_of(state, reservation) == "business":
        return None
    statuses = [day_status(state, s) for s in reservation.get("flights", [])]
    for segment, status in zip(reservation.get("flights", []), statuses, strict=True):
        flown = status in ("landed", "flying") or (status is None and segment.get("date", "9") < NOW[:10])
        if flown:
            return ("flight " + segment.get("flight_number", "?") + " on " + segment.get("date", "?")
                    + " of reservation " + rid + " was already flown: a trip in use cannot be cancelled")
    if reservation.get("created_at", "") >= DAY_BEFORE:
        return None
    if "cancelled" in statuses or reservation.get("insurance") == "yes":
        return None
    return ("reservation " + rid + " (" + str(cabin_of(state, reservation)) + ", booked "
            + str(reservation.get("created_at")) + ", no insurance) may not be cancelled: it was booked more "
            "than 24 hours ago, the airline cancelled none of its flights and it is not business class")
