MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def next_day(date):
    year, month, day = int(date[0:4]), int(date[5:7]), int(date[8:10])
    day += 1
    if day > MONTH_DAYS[month - 1] or (month == 2 and day == 29 and year % 4 != 0):
        day = 1
        month += 1
        if month > 12:
            month = 1
            year += 1
    return str(year) + "-" + str(month).zfill(2) + "-" + str(day).zfill(2)


def leg(flight, date, shown_date):
    view = {}
    for key, value in flight.items():
        if key != "dates":
            view[key] = value
    view.update(flight["dates"][date])
    view["date"] = shown_date
    return view


def available(flight, date):
    day = flight["dates"].get(date)
    return day is not None and day["status"] == "available"


def invoke(state, origin, destination, date):
    flights = state["flights"]
    found = []
    for first in flights.values():
        if first["origin"] != origin or not available(first, date):
            continue
        arrival = first["scheduled_arrival_time_est"]
        overnight = arrival.endswith("+1")
        second_date = next_day(date) if overnight else date
        for second in flights.values():
            if second["origin"] != first["destination"] or second["destination"] != destination:
                continue
            # A connection must leave after the first leg lands. The times are compared as text, so
            # an overnight arrival ("01:00:00+1") only connects to later departures the next day.
            if arrival > second["scheduled_departure_time_est"]:
                continue
            if not available(second, second_date) or not available(second, date):
                continue
            # The recorded backend labels an overnight connection with the next day's date but
            # shows the seats and prices of the first leg's date; replays must agree with it.
            found.append([leg(first, date, date), leg(second, date, second_date)])
    return found
