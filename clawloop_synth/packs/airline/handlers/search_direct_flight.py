def flight_on(flight, date):
    # The flight's static fields plus that day's status, seats and prices.
    view = {}
    for key, value in flight.items():
        if key != "dates":
            view[key] = value
    view.update(flight["dates"][date])
    return view


def invoke(state, origin, destination, date):
    found = []
    for flight in state["flights"].values():
        if flight["origin"] != origin or flight["destination"] != destination:
            continue
        day = flight["dates"].get(date)
        if day is None or day["status"] != "available":
            continue
        found.append(flight_on(flight, date))
    return found
