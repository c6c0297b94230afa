"""The tool-dependency graph mined from traces."""

from __future__ import annotations

from clawloop_synth.generate.graph import build_graph, leaf_strings
from clawloop_synth.types import GoldAction, Message, ToolCall, Trace


def _trace() -> Trace:
    def call(i: int, name: str, **args: object) -> list[Message]:
        return [Message(role="assistant", tool_calls=[ToolCall(id=f"c{i}", name=name, arguments=args)])]

    def result(i: int, text: str) -> list[Message]:
        return [Message(role="tool", tool_call_id=f"c{i}", content=text)]

    messages = [Message(role="user", content="I am mia_li_3668, cancel my trip"),
                *call(1, "get_user", user_id="mia_li_3668"), *result(1, '{"reservations": ["ZFA04Y", "AB12CD"]}'),
                *call(2, "get_reservation", reservation_id="ZFA04Y"), *result(2, '{"flights": [{"number": "HAT001"}]}'),
                *call(3, "cancel", reservation_id="ZFA04Y", reason={"flight": "HAT001"})]
    return Trace(id="t1", source="openai_chat", messages=messages,
                 gold_actions=[GoldAction(name="get_user"),
                               GoldAction(name="cancel", arguments={"reservation_id": "x"})])


def test_counts_order_and_value_flow() -> None:
    graph = build_graph([_trace()], writes={"cancel"})
    assert graph.calls == {"get_user": 1, "get_reservation": 1, "cancel": 1}
    assert graph.preceded_by["cancel"] == {"get_reservation": 1}
    assert graph.flows[("get_user", "get_reservation", "reservation_id")] == 1
    assert graph.flows[("get_user", "cancel", "reservation_id")] == 1
    assert graph.flows[("get_reservation", "cancel", "reason")] == 1
    assert graph.producers("cancel") == ["get_reservation", "get_user"]
    assert graph.producers("cancel", "reservation_id") == ["get_user"]
    assert graph.consumers("get_user") == ["cancel", "get_reservation"]
    assert [(tid, [a.name for a in gold]) for tid, gold in graph.templates] == [("t1", ["cancel"])]
    assert graph.summary()["traces"] == 1


def test_leaf_strings_name_the_top_level_argument() -> None:
    assert leaf_strings({"flights": [{"flight_number": "HAT1", "date": "2024-05-01"}], "n": 2}) == [
        ("flights", "HAT1"), ("flights", "2024-05-01")]


def test_demo_traces_show_lookups_feeding_writes() -> None:
    from pathlib import Path

    from clawloop_synth.ingest import iter_traces

    path = Path(__file__).resolve().parents[2] / "datasets" / "demo" / "traces.jsonl"
    graph = build_graph(iter_traces([path]))
    assert "find_patient" in graph.producers("get_patient", "patient_id")
    assert "search_open_slots" in graph.producers("book_appointment", "slot_id")
