"""The demo clinic's database, generated from a seed (the demo pack ships seed 0's as ``state/``).

Riverside Clinic: patients with a prepaid wallet and maybe a card on file, doctors by specialty,
bookable half-day slots over a working week and a half, appointments (past and upcoming) and the
invoices of past visits. Money is in integer cents so that handlers never round.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["DAYS", "DOCTORS", "TIMES", "TODAY", "VISIT_TYPES", "fresh_service", "generate_state", "write_demo_state"]

TODAY = "2025-03-10"
TIMES = ["09:00", "09:30", "10:30", "11:00", "14:00", "15:30"]
VISIT_TYPES = ["consultation", "follow-up", "check-up", "vaccination"]

# (id, name, specialty): invented names; two specialties have two doctors so the name matters.
DOCTORS = [
    ("D-01", "Dr. Amara Okafor", "general practice"),
    ("D-02", "Dr. Lukas Brandt", "general practice"),
    ("D-03", "Dr. Mei Tanaka", "dermatology"),
    ("D-04", "Dr. Rafael Quintero", "cardiology"),
    ("D-05", "Dr. Ingrid Solberg", "pediatrics"),
    ("D-06", "Dr. Tomasz Wojcik", "orthopedics"),
    ("D-07", "Dr. Priya Raman", "orthopedics"),
    ("D-08", "Dr. Colette Marchand", "ophthalmology"),
]

_FIRST = ["Nora", "Elias", "Hana", "Marcus", "Leila", "Owen", "Sofia", "Tariq", "Greta", "Julian",
          "Ayla", "Bruno", "Chiara", "Dmitri", "Esme", "Felix", "Ines", "Kofi", "Lucia", "Mateo"]
_LAST = ["Lindqvist", "Abara", "Moreau", "Castillo", "Novak", "Fitzgerald", "Haddad", "Kowalski",
         "Nakamura", "Oyelaran", "Petrov", "Rossi", "Sandoval", "Tran", "Varga", "Whitfield"]
_PHONE_AREAS = ["415", "628", "510", "650"]


def _weekdays(start: date, count: int) -> list[str]:
    days: list[str] = []
    current = start
    while len(days) < count:
        if current.weekday() < 5:
            days.append(current.isoformat())
        current += timedelta(days=1)
    return days


DAYS = _weekdays(date.fromisoformat(TODAY), 7)  # bookable days: today and the next six weekdays
_PAST_DAYS = _weekdays(date.fromisoformat(TODAY) - timedelta(days=21), 12)[:12]


def _patients(rng: random.Random, count: int) -> dict[str, dict[str, Any]]:
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if name not in names:
            names.append(name)
    # A few namesakes with other birth dates, so that a lookup by name alone is not enough.
    for k in range(0, min(count, 8), 2):
        names[k + 1] = names[k]
    patients = {}
    for k, name in enumerate(names):
        pid = f"P-{1001 + k * 7 + rng.randrange(7)}"
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        card = {"brand": rng.choice(["Visa", "Mastercard"]), "last4": f"{rng.randrange(10000):04d}"}
        patients[pid] = {
            "patient_id": pid,
            "name": name,
            "date_of_birth": born.isoformat(),
            "phone": f"+1-{rng.choice(_PHONE_AREAS)}-555-{rng.randrange(10000):04d}",
            "wallet_balance_cents": rng.choice([0, 1500, 2500, 4000, 6000, 10000, 20000]),
            "card": card if rng.random() < 0.7 else None,
            "appointment_ids": [],
            "invoice_ids": [],
        }
    return patients


def fresh_service() -> dict[str, Any]:
    """The clinic's service counters: pending outages per tool, the next appointment number."""
    return {"outages": {}, "next_appointment_number": 5200}


def generate_state(seed: int = 0, patients: int = 40) -> dict[str, Any]:
    """The whole clinic database for ``seed``: same seed, same dict."""
    rng = random.Random(f"demo-state:{seed}")
    state: dict[str, Any] = {
        "today": TODAY,
        "patients": _patients(rng, patients),
        "doctors": {d: {"doctor_id": d, "name": n, "specialty": s} for d, n, s in DOCTORS},
        "slots": {},
        "appointments": {},
        "invoices": {},
        "service": fresh_service(),
    }
    number = 1
    for doctor_id, _, _ in DOCTORS:
        for day in DAYS:
            for time in TIMES:
                slot_id = f"S-{number:04d}"
                status = "blocked" if rng.random() < 0.08 else "open"
                state["slots"][slot_id] = {"slot_id": slot_id, "doctor_id": doctor_id, "date": day,
                                           "time": time, "status": status}
                number += 1
    pids = list(state["patients"])
    open_slots = [s for s in state["slots"].values() if s["status"] == "open"]
    appointment, invoice = 5001, 3001
    for pid in pids:
        patient = state["patients"][pid]
        for _ in range(rng.randrange(0, 3)):  # past visits, each with an invoice
            aid = f"A-{appointment}"
            appointment += 1
            doctor_id = rng.choice(DOCTORS)[0]
            visit = {"appointment_id": aid, "patient_id": pid, "doctor_id": doctor_id, "slot_id": None,
                     "date": rng.choice(_PAST_DAYS), "time": rng.choice(TIMES),
                     "visit_type": rng.choice(VISIT_TYPES), "status": "completed"}
            state["appointments"][aid] = visit
            patient["appointment_ids"].append(aid)
            iid = f"INV-{invoice}"
            invoice += 1
            paid = rng.random() < 0.4
            state["invoices"][iid] = {"invoice_id": iid, "patient_id": pid, "appointment_id": aid,
                                      "visit_date": visit["date"],
                                      "amount_cents": rng.choice([4500, 6500, 8000, 9500, 12000, 15500]),
                                      "status": "paid" if paid else "open",
                                      "paid_with": rng.choice(["wallet", "card_on_file"]) if paid else None}
            patient["invoice_ids"].append(iid)
        for _ in range(rng.randrange(0, 3)):  # upcoming visits, or cancelled ones
            slot = open_slots.pop(rng.randrange(len(open_slots)))
            aid = f"A-{appointment}"
            appointment += 1
            cancelled = rng.random() < 0.2
            if not cancelled:
                slot["status"] = "booked"
            state["appointments"][aid] = {"appointment_id": aid, "patient_id": pid,
                                          "doctor_id": slot["doctor_id"], "slot_id": slot["slot_id"],
                                          "date": slot["date"], "time": slot["time"],
                                          "visit_type": rng.choice(VISIT_TYPES),
                                          "status": "cancelled" if cancelled else "scheduled"}
            patient["appointment_ids"].append(aid)
    # Other clinics' patients fill some slots too: the schedule is busier than our patients alone.
    for slot in open_slots:
        if rng.random() < 0.3:
            slot["status"] = "booked"
    return state


def write_demo_state(folder: Path, seed: int = 0) -> list[Path]:
    """Write ``generate_state(seed)`` as a pack's ``state/`` folder, one JSON file per top-level entry."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, value in generate_state(seed).items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written
