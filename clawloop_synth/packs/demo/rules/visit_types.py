# The clinic books four kinds of visit only: consultation, follow-up, check-up and vaccination.
tools = ["book_appointment"]
VISIT_TYPES = ["consultation", "follow-up", "check-up", "vaccination"]


def check(state, call):
    kind = call["arguments"].get("visit_type")
    if kind in VISIT_TYPES:
        return None
    return "'" + str(kind) + "' is not a visit the clinic books (" + ", ".join(VISIT_TYPES) + ")"
