CERTIFICATE_NUMBERS = ["3221322", "3221323", "3221324"]


def invoke(state, user_id, amount):
    users = state["users"]
    if user_id not in users:
        return "Error: user not found"
    methods = users[user_id]["payment_methods"]
    for number in CERTIFICATE_NUMBERS:
        payment_id = "certificate_" + number
        if payment_id not in methods:
            methods[payment_id] = {"source": "certificate", "amount": amount, "id": payment_id}
            return "Certificate " + payment_id + " added to user " + user_id + " with amount " + str(amount) + "."
    return "Error: too many certificates"
