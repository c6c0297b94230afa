"""The demo domain, the project's embedded default: Riverside Clinic's appointment desk.

Its state is generated from a seed (:func:`generate_state`), its nine tools are sandboxed handlers
(:func:`demo_tools`), :func:`build_demo_tasks` cuts templated tasks out of it, and
:func:`demo_pack` registers it as the ``demo`` domain pack. Nothing here is copied from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clawloop_synth.sim.domains.demo.state import TODAY, fresh_service, generate_state
from clawloop_synth.sim.domains.demo.tasks import KINDS, build_demo_tasks
from clawloop_synth.sim.domains.demo.tools import TOOL_NAMES, WRITE_TOOLS, demo_tools, handler_source
from clawloop_synth.sim.pack import Call, DomainPack, Refs, State, register_pack

__all__ = [
    "COLLECTIONS",
    "KINDS",
    "POLICY",
    "TOOL_NAMES",
    "WRITE_TOOLS",
    "DemoPack",
    "build_demo_tasks",
    "demo_pack",
    "demo_tools",
    "generate_state",
    "handler_source",
]

COLLECTIONS = ("patients", "doctors", "slots", "appointments", "invoices")

POLICY = (
    "You are the front-desk assistant of Riverside Clinic. Identify the patient by full name and date of "
    "birth before anything else, look records up before you change them, use ids exactly as the tools "
    "return them and dates as YYYY-MM-DD, and retry once when a service is temporarily unavailable. "
    "Tell the patient the details they ask for."
)


def _references(state: State, name: str, args: Mapping[str, Any]) -> Refs:
    # Calls that find entities by something other than their id touch what they could return.
    if name == "find_patient":
        wanted = " ".join(str(args.get("name", "")).lower().split())
        hits = {k for k, p in state.get("patients", {}).items() if p.get("name", "").lower() == wanted}
        return {"patients": hits} if hits else {}
    if name == "list_doctors":
        hits = {k for k, d in state.get("doctors", {}).items() if d.get("specialty") == args.get("specialty")}
        return {"doctors": hits} if hits else {}
    if name == "search_open_slots":
        hits = {k for k, s in state.get("slots", {}).items()
                if s.get("doctor_id") == args.get("doctor_id") and s.get("date") == args.get("date")}
        return {"slots": hits} if hits else {}
    return {}


def _restore_globals(sliced: State, keep: Refs, calls: list[Call]) -> State:
    # Slicing keeps collections only; the clinic's clock and service counters travel with every slice.
    sliced["today"] = TODAY
    sliced["service"] = fresh_service()
    return sliced


@dataclass(frozen=True)
class DemoPack(DomainPack):
    """The demo pack: with no database folder, its state is generated from ``seed``."""

    seed: int = 0

    def load_state(self, db: Path | None = None) -> State:
        if (db or self.db) is None:
            return generate_state(self.seed)
        state = super().load_state(db)
        state.setdefault("today", TODAY)
        state.setdefault("service", fresh_service())
        return state


def demo_pack(db: Path | None = None) -> DemoPack:
    """The demo clinic pack; ``db`` optionally points at a folder of its collections as JSON."""
    return DemoPack(
        name="demo",
        tools=demo_tools(),
        collections=COLLECTIONS,
        db=db,
        references=_references,
        trim=_restore_globals,
        link_depth=2,
        description="Riverside Clinic's appointment desk: patients, doctors, slots, appointments, invoices.",
    )


register_pack("demo", demo_pack)
