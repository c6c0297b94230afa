# ruff: noqa: F821  (helpers such as has_id_form come from common.py, prepended at load time)
def invoke(state, invoice_id, payment_method):
    if not has_id_form(invoice_id, "INV"):
        return bad_id("invoice_id", invoice_id, "INV-3007")
    invoice = state["invoices"].get(invoice_id)
    if invoice is None:
        return "Error: invoice " + invoice_id + " not found"
    if invoice["status"] == "paid":
        return "Error: invoice " + invoice_id + " is already paid"
    patient = state["patients"][invoice["patient_id"]]
    due = invoice["amount_cents"]
    if payment_method == "wallet":
        if patient["wallet_balance_cents"] < due:
            return ("Error: insufficient wallet balance: " + money(patient["wallet_balance_cents"])
                    + " available, " + money(due) + " due")
    elif payment_method == "card_on_file":
        if patient["card"] is None:
            return "Error: patient " + patient["patient_id"] + " has no card on file"
    else:
        return "Error: unknown payment_method '" + payment_method + "'; use 'wallet' or 'card_on_file'"
    failed = outage(state, "pay_invoice", "payment gateway timed out and nothing was charged, please retry")
    if failed is not None:
        return failed
    if payment_method == "wallet":
        patient["wallet_balance_cents"] = patient["wallet_balance_cents"] - due
    invoice["status"] = "paid"
    invoice["paid_with"] = payment_method
    return {
        "invoice_id": invoice_id,
        "status": "paid",
        "amount_paid": money(due),
        "paid_with": payment_method,
        "wallet_balance": money(patient["wallet_balance_cents"]),
    }
