# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, appointment_id, new_slot_id):
    if not has_id_form(appointment_id, "A"):
        return bad_id("appointment_id", appointment_id, "A-5012")
    appointment = state["appointments"].get(appointment_id)
    if appointment is None:
        return "Error: appointment " + appointment_id + " not found"
    if appointment["status"] != "scheduled" or appointment["date"] < state["today"]:
        return "Error: appointment " + appointment_id + " is " + appointment["status"] + " and cannot be moved"
    if not has_id_form(new_slot_id, "S"):
        return bad_id("new_slot_id", new_slot_id, "S-0107")
    if new_slot_id == appointment["slot_id"]:
        return "Error: appointment " + appointment_id + " is already in slot " + new_slot_id
    slot = state["slots"].get(new_slot_id)
    if slot is None:
        return "Error: slot " + new_slot_id + " not found"
    if slot["doctor_id"] != appointment["doctor_id"]:
        return "Error: slot " + new_slot_id + " belongs to another doctor; cancel and book a new appointment instead"
    if slot["status"] != "open" or slot["date"] < state["today"]:
        return "Error: slot " + new_slot_id + " is not available"
    old = state["slots"].get(appointment["slot_id"] or "")
    if old is not None:
        old["status"] = "open"
    slot["status"] = "booked"
    appointment["slot_id"] = new_slot_id
    appointment["date"] = slot["date"]
    appointment["time"] = slot["time"]
    return appointment_view(state, appointment)
