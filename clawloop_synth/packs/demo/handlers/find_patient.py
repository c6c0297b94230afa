# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, name, date_of_birth):
    if not is_date(date_of_birth):
        return bad_date("date_of_birth", date_of_birth)
    wanted = " ".join(name.lower().split())
    for patient in state["patients"].values():
        if patient["name"].lower() == wanted and patient["date_of_birth"] == date_of_birth:
            return {"patient_id": patient["patient_id"], "name": patient["name"]}
    return "Error: no patient named '" + name + "' with date of birth " + date_of_birth
