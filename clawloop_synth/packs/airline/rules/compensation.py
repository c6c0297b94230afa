# A compensation certificate only for a user who is a silver or gold member, has travel insurance or
# flies business on some reservation, and only 100 (cancelled flight) or 50 (delayed flight) dollars
# per passenger of one of their reservations.
tools = ["send_certificate"]


def check(state, call):
    args = call["arguments"]
    user = state.get("users", {}).get(args.get("user_id"))
    if not isinstance(user, dict):
        return None
    reservations = [state.get("reservations", {}).get(r) for r in user.get("reservations", [])]
    reservations = [r for r in reservations if isinstance(r, dict)]
    eligible = user.get("membership") in ("silver", "gold") or any(
        r.get("insurance") == "yes" or r.get("cabin") == "business" for r in reservations)
    if not eligible:
        return ("user " + str(args.get("user_id")) + " is a regular member with no insurance and no business "
                "reservation: no compensation is due")
    amount = args.get("amount")
    allowed = set()
    for r in reservations:
        allowed.add(100 * len(r.get("passengers", [])))
        allowed.add(50 * len(r.get("passengers", [])))
    if reservations and amount not in allowed:
        return ("a certificate of " + str(amount) + " is not 100 or 50 dollars times the passengers of one of the "
                "user's reservations")
    return None
