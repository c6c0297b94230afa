"""The airline domain: tau-bench's airline database (read from a folder) and its 14 tools.

Handlers live in ``handlers/<tool>.py`` as plain sandbox sources (``def invoke(state, **args)``),
read as text and never imported by the host; the folder has no ``__init__.py`` and is excluded
from mypy. Their behaviour was inferred from the database and from the recorded calls and results
of real trajectories, including the recording's quirks (see the comments in each handler).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from clawloop_synth.sim.domains.airline.schemas import DESCRIPTIONS, PARAMETERS, WRITES
from clawloop_synth.sim.pack import Call, DomainPack, Refs, State, register_pack
from clawloop_synth.types import ToolSpec

__all__ = ["COLLECTIONS", "TOOL_NAMES", "airline_pack", "airline_tools", "handler_source"]

COLLECTIONS = ("users", "flights", "reservations")
TOOL_NAMES = (
    "get_user_details",
    "get_reservation_details",
    "search_direct_flight",
    "search_onestop_flight",
    "list_all_airports",
    "book_reservation",
    "cancel_reservation",
    "update_reservation_flights",
    "update_reservation_baggages",
    "update_reservation_passengers",
    "send_certificate",
    "calculate",
    "think",
    "transfer_to_human_agents",
)
# Flight dates kept around each date a task mentions, so an agent that looks a day off finds something.
DATE_MARGIN = 1


@cache
def handler_source(name: str) -> str:
    """The sandbox source of one tool's handler."""
    return (resources.files(__name__) / "handlers" / f"{name}.py").read_text(encoding="utf-8")


def airline_tools() -> list[ToolSpec]:
    return [
        ToolSpec(
            name=name,
            description=DESCRIPTIONS[name],
            parameters=PARAMETERS[name],
            handler=handler_source(name),
            writes=name in WRITES,
        )
        for name in TOOL_NAMES
    ]


def _search_refs(state: State, name: str, args: Mapping[str, Any]) -> Refs:
    # A search touches every flight it could list, so a sliced state answers it as the full one does.
    flights = state.get("flights", {})
    origin, destination = args.get("origin"), args.get("destination")
    if name == "search_direct_flight":
        hits = {key for key, f in flights.items() if f.get("origin") == origin and f.get("destination") == destination}
        return {"flights": hits} if hits else {}
    if name == "search_onestop_flight":
        into = {key for key, f in flights.items() if f.get("destination") == destination}
        hubs = {flights[key].get("origin") for key in into}
        first = {key for key, f in flights.items() if f.get("origin") == origin and f.get("destination") in hubs}
        firsts_to = {flights[key].get("destination") for key in first}
        second = {key for key in into if flights[key].get("origin") in firsts_to}
        hits = first | second
        return {"flights": hits} if hits else {}
    return {}


def _dates_in(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        if len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
            out.add(value[:10])
    elif isinstance(value, dict):
        for item in value.values():
            _dates_in(item, out)
    elif isinstance(value, list):
        for item in value:
            _dates_in(item, out)


def _trim_flight_dates(sliced: State, keep: Refs, calls: list[Call]) -> State:
    """Keep each flight's days near the dates the task's calls mention; the rest of May is noise."""
    mentioned: set[str] = set()
    for _, args in calls:
        _dates_in(dict(args), mentioned)
    window: set[str] = set()
    for text in mentioned:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        window.update((day + timedelta(days=delta)).isoformat() for delta in range(-DATE_MARGIN, DATE_MARGIN + 1))
    for flight in sliced.get("flights", {}).values():
        dates = flight.get("dates")
        if isinstance(dates, dict):
            flight["dates"] = {day: info for day, info in dates.items() if day in window}
    return sliced


def airline_pack(db: Path | None = None) -> DomainPack:
    """The airline pack; ``db`` is a folder with users.json, flights.json and reservations.json."""
    return DomainPack(
        name="airline",
        tools=airline_tools(),
        collections=COLLECTIONS,
        db=db,
        references=_search_refs,
        trim=_trim_flight_dates,
        link_depth=2,
        slice_depth=1,
        description="Airline customer service over tau-bench's airline database.",
        # The database renamed address.province to address.state after the trajectories were recorded.
        recorded_key_aliases={"state": "province"},
    )


register_pack("airline", airline_pack)
