"""Deterministic demo tasks: templated instructions over a sliced clinic state, with a reference.

Five kinds (book, reschedule, cancel, pay, info). Every reference looks things up before it writes,
and the ids it writes with come from those lookups (patient id from ``find_patient``, doctor id from
``list_doctors`` or an appointment, slot id from ``search_open_slots``). About half of the tasks that
search slots or pay carry a pending outage, so their reference retries once. Every task asks for
something back (an id, a time, an amount), so an answer that gives up always fails.

This is also the first example of a procedural generator: templates + a seeded choice of entities.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

from clawloop_synth.sim.pack import DomainPack, load_pack
from clawloop_synth.sim.rules import pack_rules
from clawloop_synth.types import Checks, PlannedCall, Provenance, Solution, TaskFeatures, TaskSpec

from .state import DAYS, TODAY, VISIT_TYPES, generate_state

__all__ = ["KINDS", "build_demo_tasks", "demo_pack"]

KINDS = ("book", "reschedule", "pay", "cancel", "info")
OUTAGE_RATE = 0.5
GIVE_UP_OUTAGE = "I'm sorry, our system is temporarily unavailable. Please try again later."

Db = dict[str, Any]


@cache
def demo_pack() -> DomainPack:
    """The shipped demo pack (tools, handlers, policy), read once."""
    return load_pack("demo")


class _Draft:
    """What a kind builder decides; turned into a TaskSpec by ``_finish``."""

    def __init__(self, kind: str, patient: dict[str, Any]) -> None:
        self.kind = kind
        self.patient = patient
        self.doctors: set[str] = set()
        self.days: set[str] = set()
        self.instruction = ""
        self.calls: list[PlannedCall] = []
        self.answer = ""
        self.outputs: list[str] = []
        self.outage: str | None = None  # tool name whose first call fails once

    def call(self, tool: str, **arguments: Any) -> None:
        self.calls.append(PlannedCall(name=tool, arguments=arguments))
        if tool == self.outage and sum(c.name == tool for c in self.calls) == 1:
            self.calls.append(PlannedCall(name=tool, arguments=arguments))  # the retry


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%A, %B %-d")


def _birthday(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%B %-d, %Y")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _who(p: dict[str, Any]) -> str:
    return f"{p['name']}, born {_birthday(p['date_of_birth'])}"


def _upcoming(db: Db, p: dict[str, Any]) -> list[dict[str, Any]]:
    apps = [db["appointments"][a] for a in p["appointment_ids"]]
    return [a for a in apps if a["status"] == "scheduled" and a["date"] > TODAY]


def _open_slots(db: Db, doctor_id: str, day: str) -> list[dict[str, Any]]:
    slots = [s for s in db["slots"].values()
             if s["doctor_id"] == doctor_id and s["date"] == day and s["status"] == "open"]
    return sorted(slots, key=lambda s: s["time"])


def _busy(db: Db, p: dict[str, Any], day: str, time: str) -> bool:
    return any(a["date"] == day and a["time"] == time for a in _upcoming(db, p))


def _lookup_until(draft: _Draft, db: Db, target: str) -> None:
    """``get_patient`` then ``get_appointment`` on the patient's appointments up to ``target``."""
    draft.call("get_patient", patient_id=draft.patient["patient_id"])
    for aid in draft.patient["appointment_ids"]:
        draft.call("get_appointment", appointment_id=aid)
        if aid == target:
            return


def _book(db: Db, rng: random.Random, p: dict[str, Any]) -> _Draft | None:
    doctor = db["doctors"][rng.choice(sorted(db["doctors"]))]
    day = rng.choice(DAYS[1:])
    slots = _open_slots(db, doctor["doctor_id"], day)
    if not slots or _busy(db, p, day, slots[0]["time"]):
        return None
    slot, visit = slots[0], rng.choice(VISIT_TYPES)
    d = _Draft("book", p)
    d.outage = "search_open_slots" if rng.random() < OUTAGE_RATE else None
    d.doctors.add(doctor["doctor_id"])
    d.days.add(day)
    d.instruction = (f"Hi, this is {_who(p)}. I'd like a {visit} with {doctor['name']} ({doctor['specialty']}) "
                     f"on {_day(day)}, at the earliest open time that day. Please book it and tell me the "
                     "appointment id and the time.")
    aid = f"A-{db['service']['next_appointment_number']}"
    d.call("find_patient", name=p["name"], date_of_birth=p["date_of_birth"])
    d.call("list_doctors", specialty=doctor["specialty"])
    d.call("search_open_slots", doctor_id=doctor["doctor_id"], date=day)
    d.call("book_appointment", patient_id=p["patient_id"], slot_id=slot["slot_id"], visit_type=visit)
    d.answer = f"You're booked: appointment {aid}, a {visit} with {doctor['name']} on {day} at {slot['time']}."
    d.outputs = [aid, slot["time"]]
    return d


def _reschedule(db: Db, rng: random.Random, p: dict[str, Any]) -> _Draft | None:
    upcoming = _upcoming(db, p)
    if not upcoming:
        return None
    app = rng.choice(upcoming)
    day = rng.choice([x for x in DAYS[1:] if x != app["date"]])
    slots = [s for s in _open_slots(db, app["doctor_id"], day) if not _busy(db, p, day, s["time"])]
    if not slots or _open_slots(db, app["doctor_id"], day)[0] is not slots[0]:
        return None
    doctor, slot = db["doctors"][app["doctor_id"]], slots[0]
    d = _Draft("reschedule", p)
    d.outage = "search_open_slots" if rng.random() < OUTAGE_RATE else None
    d.doctors.add(app["doctor_id"])
    d.days.update({app["date"], day})
    d.instruction = (f"I'm {_who(p)}. Please move my appointment with {doctor['name']} on {_day(app['date'])} "
                     f"to the earliest open time on {_day(day)}, and tell me the new time.")
    d.call("find_patient", name=p["name"], date_of_birth=p["date_of_birth"])
    _lookup_until(d, db, app["appointment_id"])
    d.call("search_open_slots", doctor_id=app["doctor_id"], date=day)
    d.call("reschedule_appointment", appointment_id=app["appointment_id"], new_slot_id=slot["slot_id"])
    d.answer = (f"Your appointment {app['appointment_id']} with {doctor['name']} is now on {day} "
                f"at {slot['time']}.")
    d.outputs = [slot["time"]]
    return d


def _cancel(db: Db, rng: random.Random, p: dict[str, Any]) -> _Draft | None:
    upcoming = _upcoming(db, p)
    if not upcoming:
        return None
    app = rng.choice(upcoming)
    doctor = db["doctors"][app["doctor_id"]]
    d = _Draft("cancel", p)
    d.doctors.add(app["doctor_id"])
    d.days.add(app["date"])
    d.instruction = (f"This is {_who(p)}. I can't make my appointment with {doctor['name']} on "
                     f"{_day(app['date'])}; please cancel it and give me the appointment number for my records.")
    d.call("find_patient", name=p["name"], date_of_birth=p["date_of_birth"])
    _lookup_until(d, db, app["appointment_id"])
    d.call("cancel_appointment", appointment_id=app["appointment_id"])
    d.answer = (f"I've cancelled appointment {app['appointment_id']} with {doctor['name']} on {app['date']} "
                f"at {app['time']}.")
    d.outputs = [app["appointment_id"]]
    return d


def _pay(db: Db, rng: random.Random, p: dict[str, Any]) -> _Draft | None:
    invoices = [db["invoices"][i] for i in p["invoice_ids"] if db["invoices"][i]["status"] == "open"]
    if not invoices:
        return None
    inv = rng.choice(invoices)
    if sum(i["visit_date"] == inv["visit_date"] for i in invoices) > 1:
        return None
    wallet, due = p["wallet_balance_cents"], inv["amount_cents"]
    method = "wallet" if wallet >= due else "card_on_file"
    if method == "card_on_file" and p["card"] is None:
        return None
    left = wallet - due if method == "wallet" else wallet
    d = _Draft("pay", p)
    d.outage = "pay_invoice" if rng.random() < OUTAGE_RATE else None
    d.instruction = (f"Hi, {_who(p)} here. Please pay my bill for the {_day(inv['visit_date'])} visit: use my "
                     "clinic wallet if it covers the amount, otherwise my card on file. Tell me how much was "
                     "paid and what is left in my wallet.")
    d.call("find_patient", name=p["name"], date_of_birth=p["date_of_birth"])
    d.call("get_patient", patient_id=p["patient_id"])
    d.call("pay_invoice", invoice_id=inv["invoice_id"], payment_method=method)
    how = "your clinic wallet" if method == "wallet" else "your card on file"
    d.answer = (f"Paid invoice {inv['invoice_id']}: ${_money(due)} with {how}. Your wallet balance is now "
                f"${_money(left)}.")
    d.outputs = [_money(due), _money(left)]
    return d


def _info(db: Db, rng: random.Random, p: dict[str, Any]) -> _Draft | None:
    upcoming = sorted(_upcoming(db, p), key=lambda a: (a["date"], a["time"]))
    if not upcoming:
        return None
    app = upcoming[0]
    doctor = db["doctors"][app["doctor_id"]]
    d = _Draft("info", p)
    d.doctors.add(app["doctor_id"])
    d.days.add(app["date"])
    d.instruction = (f"Hello, I'm {_who(p)}. When is my next appointment? Please give me its appointment "
                     "number and time.")
    d.call("find_patient", name=p["name"], date_of_birth=p["date_of_birth"])
    _lookup_until(d, db, p["appointment_ids"][-1])  # every appointment: the next one is the earliest
    d.answer = (f"Your next appointment is {app['appointment_id']} with {doctor['name']} on {app['date']} "
                f"at {app['time']}.")
    d.outputs = [app["appointment_id"], app["time"]]
    return d


_BUILDERS: dict[str, Callable[[Db, random.Random, dict[str, Any]], _Draft | None]] = {
    "book": _book, "reschedule": _reschedule, "pay": _pay, "cancel": _cancel, "info": _info,
}


def _slice(db: Db, draft: _Draft, rng: random.Random) -> tuple[Db, int]:
    """The task's own state: its patient, a namesake if any, a few other patients, their records."""
    target = draft.patient
    others = [p for p in db["patients"].values() if p["patient_id"] != target["patient_id"]]
    namesakes = [p for p in others if p["name"] == target["name"]]
    rest = [p for p in others if p["name"] != target["name"]]
    chosen = [target, *namesakes, *rng.sample(rest, 3)]
    chosen.sort(key=lambda p: p["patient_id"])
    apps = {a: db["appointments"][a] for p in chosen for a in p["appointment_ids"]}
    invoices = {i: db["invoices"][i] for p in chosen for i in p["invoice_ids"]}
    slot_ids = {a["slot_id"] for a in apps.values() if a["slot_id"]}
    slots = {sid: s for sid, s in db["slots"].items()
             if sid in slot_ids or (s["doctor_id"] in draft.doctors and s["date"] in draft.days)}
    state = {
        "today": db["today"],
        "patients": {p["patient_id"]: p for p in chosen},
        "doctors": db["doctors"],
        "slots": dict(sorted(slots.items())),
        "appointments": dict(sorted(apps.items())),
        "invoices": dict(sorted(invoices.items())),
        "service": {"outages": {draft.outage: 1} if draft.outage else {},
                    "next_appointment_number": db["service"]["next_appointment_number"]},
    }
    return copy.deepcopy(state), len(chosen) - 1


def _exemplar(draft: _Draft) -> tuple[Solution, str]:
    """The targeted failing behaviour: give up on the outage, or stop before the last write."""
    calls = draft.calls
    if draft.outage:
        first = next(i for i, c in enumerate(calls) if c.name == draft.outage)
        return Solution(calls=calls[: first + 1], answer=GIVE_UP_OUTAGE), "agent/planning/premature_termination"
    writes = [i for i, c in enumerate(calls) if c.name in demo_pack().write_tools]
    if writes:
        return Solution(calls=calls[: writes[-1]], answer=draft.answer), "agent/action/missing_action"
    return Solution(calls=calls[:2], answer="You have no upcoming appointments."), "agent/reasoning/missing_output"


def _finish(draft: _Draft, state: Db, distractors: int, task_id: str, seed: int) -> TaskSpec:
    exemplar, code = _exemplar(draft)
    pack = demo_pack()
    return TaskSpec(
        id=task_id,
        domain=pack.name,
        instruction=draft.instruction,
        policy=pack.policy,
        tools=list(pack.tools),
        initial_state=state,
        reference=Solution(calls=draft.calls, answer=draft.answer),
        failure_exemplar=exemplar,
        checks=Checks(required_outputs=draft.outputs),
        target_code=code,
        provenance=Provenance(generator="demo-templates", prompt_version=draft.kind, seed=seed),
        features=TaskFeatures(steps=len(draft.calls), tools=len({c.name for c in draft.calls}),
                              writes=sum(c.name in pack.write_tools for c in draft.calls), distractors=distractors),
        rules=pack_rules(pack),
    )


def build_demo_tasks(n: int = 40, seed: int = 0) -> list[TaskSpec]:
    """``n`` demo tasks, the five kinds in turn; the same ``(n, seed)`` gives the same tasks."""
    db = generate_state(seed)
    rng = random.Random(f"demo-tasks:{seed}")
    patients = sorted(db["patients"])
    tasks: list[TaskSpec] = []
    seen: set[str] = set()
    for k in range(n):
        kind = KINDS[k % len(KINDS)]
        draft, fallback = None, None
        for _ in range(500):  # a new instruction if there is one left, else a repeat
            candidate = _BUILDERS[kind](db, rng, db["patients"][rng.choice(patients)])
            fallback = fallback or candidate
            if candidate is not None and candidate.instruction not in seen:
                draft = candidate
                break
        draft = draft or fallback
        if draft is None:  # pragma: no cover - the generated clinic has candidates for every kind
            raise RuntimeError(f"no {kind} task found for seed {seed}")
        seen.add(draft.instruction)
        state, distractors = _slice(db, draft, rng)
        tasks.append(_finish(draft, state, distractors, f"demo-{kind}-{k:03d}", seed))
    return tasks
