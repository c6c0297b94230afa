# Helpers every airline rule can use (pack.toml: rule_prelude); rules run it before their own source.


def cabin_of(state, reservation):
    # A cabin change re-prices every segment at the new cabin's fare but leaves the reservation's
    # cabin field as it was (the recorded backend does so), so the fares tell the cabin in use.
    segments = reservation.get("flights", [])
    for cabin in ("basic_economy", "economy", "business"):
        if cabin == reservation.get("cabin") or not segments:
            continue
        hits = 0
        for segment in segments:
            flight = state.get("flights", {}).get(segment.get("flight_number"))
            day = flight.get("dates", {}).get(segment.get("date")) if isinstance(flight, dict) else None
            prices = day.get("prices") if isinstance(day, dict) else None
            if isinstance(prices, dict) and prices.get(cabin) == segment.get("price"):
                hits += 1
        if hits == len(segments):
            return cabin
    return reservation.get("cabin")
