# A booking is paid with at most one travel certificate, at most one credit card and at most three
# gift cards, all from the user's own profile.
tools = ["book_reservation"]
LIMITS = {"certificate": 1, "credit_card": 1, "gift_card": 3}


def check(state, call):
    args = call["arguments"]
    user = state.get("users", {}).get(args.get("user_id"))
    if not isinstance(user, dict):
        return None
    counts = {}
    for payment in args.get("payment_methods", []):
        method = user.get("payment_methods", {}).get(payment.get("payment_id")) if isinstance(payment, dict) else None
        if not isinstance(method, dict):
            return "payment method " + str(payment) + " is not in the user's profile"
        source = method.get("source")
        counts[source] = counts.get(source, 0) + 1
    for source, count in sorted(counts.items()):
        if count > LIMITS.get(source, 99):
            return ("a booking may use at most " + str(LIMITS[source]) + " " + source.replace("_", " ")
                    + "(s), not " + str(count))
    return None
