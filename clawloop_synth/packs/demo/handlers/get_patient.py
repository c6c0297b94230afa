# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, patient_id):
    if not has_id_form(patient_id, "P"):
        return bad_id("patient_id", patient_id, "P-1042")
    patient = state["patients"].get(patient_id)
    if patient is None:
        return "Error: patient " + patient_id + " not found"
    invoices = []
    for invoice_id in patient["invoice_ids"]:
        invoice = state["invoices"].get(invoice_id)
        if invoice is not None:
            invoices.append(dict(invoice))
    view = dict(patient)
    view["invoices"] = invoices
    return view
