# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, appointment_id):
    if not has_id_form(appointment_id, "A"):
        return bad_id("appointment_id", appointment_id, "A-5012")
    appointment = state["appointments"].get(appointment_id)
    if appointment is None:
        return "Error: appointment " + appointment_id + " not found"
    if appointment["status"] != "scheduled":
        return "Error: appointment " + appointment_id + " is " + appointment["status"] + " and cannot be cancelled"
    if appointment["date"] == state["today"]:
        return "Error: same-day appointments cannot be cancelled here; the patient must call the front desk"
    if appointment["date"] < state["today"]:
        return "Error: appointment " + appointment_id + " is in the past"
    appointment["status"] = "cancelled"
    slot = state["slots"].get(appointment["slot_id"] or "")
    if slot is not None:
        slot["status"] = "open"
    return appointment_view(state, appointment)
