"""The demo clinic's nine tools: OpenAI function schemas plus sandboxed handler sources.

Each handler lives in ``handlers/<name>.py`` as plain sandbox-safe source; ``handlers/common.py``
(format checks, money, the transient-outage counter) is prepended to every one of them, so a
ToolSpec carries everything it needs to run on its own.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from clawloop_synth.types import ToolSpec

from .state import VISIT_TYPES

__all__ = ["TOOL_NAMES", "WRITE_TOOLS", "demo_tools", "handler_source"]

def _string(description: str, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description}
    if enum:
        schema["enum"] = enum
    return schema


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


_PATIENT_ID = _string("Patient id, like P-1042.")
_APPOINTMENT_ID = _string("Appointment id, like A-5012.")

# name -> (description, parameters, writes)
_SPECS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "find_patient": (
        "Find a patient by full name and date of birth. Returns the patient id.",
        _object(name=_string("The patient's full name."),
                date_of_birth=_string("Date of birth in YYYY-MM-DD format.")),
        False,
    ),
    "get_patient": (
        "Get a patient's record: contact details, wallet balance, card on file, appointment ids and "
        "invoices.",
        _object(patient_id=_PATIENT_ID),
        False,
    ),
    "list_doctors": (
        "List the clinic's doctors of one specialty, e.g. 'dermatology' or 'general practice'.",
        _object(specialty=_string("The medical specialty, lower case.")),
        False,
    ),
    "search_open_slots": (
        "List a doctor's open appointment slots on one day, earliest first.",
        _object(doctor_id=_string("Doctor id, like D-03."),
                date=_string("The day in YYYY-MM-DD format; not in the past.")),
        False,
    ),
    "get_appointment": (
        "Get an appointment's details: doctor, date, time, visit type and status.",
        _object(appointment_id=_APPOINTMENT_ID),
        False,
    ),
    "book_appointment": (
        "Book an open slot for a patient. Returns the new appointment with its id.",
        _object(patient_id=_PATIENT_ID, slot_id=_string("Slot id from search_open_slots, like S-0107."),
                visit_type=_string("Kind of visit.", VISIT_TYPES)),
        True,
    ),
    "cancel_appointment": (
        "Cancel a scheduled appointment and free its slot. Same-day appointments cannot be cancelled.",
        _object(appointment_id=_APPOINTMENT_ID),
        True,
    ),
    "reschedule_appointment": (
        "Move a scheduled appointment to another open slot of the same doctor.",
        _object(appointment_id=_APPOINTMENT_ID,
                new_slot_id=_string("Open slot id of the same doctor, like S-0107.")),
        True,
    ),
    "pay_invoice": (
        "Pay an open invoice in full from the patient's clinic wallet or their card on file.",
        _object(invoice_id=_string("Invoice id, like INV-3007."),
                payment_method=_string("How to pay.", ["wallet", "card_on_file"])),
        True,
    ),
}

TOOL_NAMES: tuple[str, ...] = tuple(_SPECS)
WRITE_TOOLS: frozenset[str] = frozenset(name for name, spec in _SPECS.items() if spec[2])


@cache
def handler_source(name: str) -> str:
    """The full sandbox source of one tool's handler (shared helpers first)."""
    folder = resources.files(__package__) / "handlers"
    common = (folder / "common.py").read_text(encoding="utf-8")
    return common + "\n\n" + (folder / f"{name}.py").read_text(encoding="utf-8")


def demo_tools() -> list[ToolSpec]:
    """Every demo tool as a ToolSpec, in a fixed order."""
    return [
        ToolSpec(name=name, description=description, parameters=parameters,
                 handler=handler_source(name), writes=writes)
        for name, (description, parameters, writes) in _SPECS.items()
    ]
