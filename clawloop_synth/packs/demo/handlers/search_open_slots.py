# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, doctor_id, date):
    if not has_id_form(doctor_id, "D"):
        return bad_id("doctor_id", doctor_id, "D-03")
    if doctor_id not in state["doctors"]:
        return "Error: doctor " + doctor_id + " not found"
    if not is_date(date):
        return bad_date("date", date)
    if date < state["today"]:
        return "Error: " + date + " is in the past; today is " + state["today"]
    failed = outage(state, "search_open_slots", "scheduling service temporarily unavailable, please retry")
    if failed is not None:
        return failed
    found = []
    for slot in state["slots"].values():
        if slot["doctor_id"] == doctor_id and slot["date"] == date and slot["status"] == "open":
            found.append([slot["time"], slot["slot_id"]])
    result = []
    for pair in sorted(found):
        result.append({"slot_id": pair[1], "doctor_id": doctor_id, "date": date, "time": pair[0]})
    return result
