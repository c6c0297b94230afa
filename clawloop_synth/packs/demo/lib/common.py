# Shared helpers, prepended to every demo handler's source (handlers run in the sandbox: no imports,
# no underscore names, no str.format; plain string building only).

TIME_SLOTS = ["09:00", "09:30", "10:30", "11:00", "14:00", "15:30"]


def only_digits(text):
    if text == "":
        return False
    return all(ch in "0123456789" for ch in text)


def is_date(text):
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    if not (only_digits(text[0:4]) and only_digits(text[5:7]) and only_digits(text[8:10])):
        return False
    month = int(text[5:7])
    day = int(text[8:10])
    return 1 <= month <= 12 and 1 <= day <= 31


def bad_date(name, text):
    return "Error: " + name + " must be a date in YYYY-MM-DD format, got '" + text + "'"


def has_id_form(text, prefix):
    head = prefix + "-"
    return text.startswith(head) and only_digits(text[len(head):])


def bad_id(name, text, example):
    return "Error: invalid " + name + " '" + text + "': expected an id like " + example


def money(cents):
    return str(cents // 100) + "." + str(cents % 100).zfill(2)


def outage(state, tool, message):
    # A pending outage fails this call once and is used up, so a retry goes through.
    outages = state["service"]["outages"]
    left = outages.get(tool, 0)
    if left > 0:
        outages[tool] = left - 1
        return "Error: " + message
    return None


def appointment_view(state, appointment):
    view = dict(appointment)
    doctor = state["doctors"].get(appointment["doctor_id"])
    view["doctor_name"] = doctor["name"] if doctor else None
    return view
