# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, patient_id, slot_id, visit_type):
    if not has_id_form(patient_id, "P"):
        return bad_id("patient_id", patient_id, "P-1042")
    patient = state["patients"].get(patient_id)
    if patient is None:
        return "Error: patient " + patient_id + " not found"
    if not has_id_form(slot_id, "S"):
        return bad_id("slot_id", slot_id, "S-0107")
    slot = state["slots"].get(slot_id)
    if slot is None:
        return "Error: slot " + slot_id + " not found"
    if slot["status"] != "open":
        return "Error: slot " + slot_id + " is not available (" + slot["status"] + ")"
    if slot["date"] < state["today"]:
        return "Error: slot " + slot_id + " is in the past"
    for appointment_id in patient["appointment_ids"]:
        other = state["appointments"].get(appointment_id)
        if (other is not None and other["status"] == "scheduled" and other["date"] == slot["date"]
                and other["time"] == slot["time"]):
            return "Error: patient " + patient_id + " already has appointment " + appointment_id + " at that time"
    number = state["service"]["next_appointment_number"]
    state["service"]["next_appointment_number"] = number + 1
    appointment = {
        "appointment_id": "A-" + str(number),
        "patient_id": patient_id,
        "doctor_id": slot["doctor_id"],
        "slot_id": slot_id,
        "date": slot["date"],
        "time": slot["time"],
        "visit_type": visit_type,
        "status": "scheduled",
    }
    state["appointments"][appointment["appointment_id"]] = appointment
    patient["appointment_ids"].append(appointment["appointment_id"])
    slot["status"] = "booked"
    return appointment_view(state, appointment)
