# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, appointment_id):
    if not has_id_form(appointment_id, "A"):
        return bad_id("appointment_id", appointment_id, "A-5012")
    appointment = state["appointments"].get(appointment_id)
    if appointment is None:
        return "Error: appointment " + appointment_id + " not found"
    return appointment_view(state, appointment)
