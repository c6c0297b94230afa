# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, specialty):
    wanted = specialty.strip().lower()
    known = []
    found = []
    for doctor in state["doctors"].values():
        if doctor["specialty"] not in known:
            known.append(doctor["specialty"])
        if doctor["specialty"] == wanted:
            found.append(doctor)
    if not found:
        return "Error: unknown specialty '" + specialty + "'; known specialties: " + ", ".join(sorted(known))
    return found
