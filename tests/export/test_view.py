"""ResultView: a result that repeats the episode is written as what is new in it, losing nothing."""

from __future__ import annotations

import json

from clawloop_synth.export.bound import as_lines
from clawloop_synth.export.view import ResultView

ORDER = {"order_id": "O1", "customer": "ana", "status": "open", "items": [{"sku": "A", "qty": 1}], "note": "gift"}


def test_a_write_that_returns_the_entity_read_before_shows_only_what_changed() -> None:
    view = ResultView("lines", 1000)
    first = view.show("get_order", {"order_id": "O1"}, json.dumps(ORDER))
    assert first == as_lines(json.dumps(ORDER))
    changed = {key: value for key, value in ORDER.items() if key != "note"} | {"status": "cancelled"}
    shown = view.show("cancel_order", {"order_id": "O1"}, json.dumps(changed))
    lines = shown.splitlines()
    assert lines[0] == "as result 1 (get_order) except:"
    assert "without: note" in lines
    assert "status: cancelled" in lines
    assert "ana" not in shown and "sku" not in shown  # unchanged fields are on screen in result 1


def test_a_created_entity_leaves_out_what_the_call_sent() -> None:
    view = ResultView("lines", 1000)
    arguments = {"customer": "ana", "items": [{"sku": "A", "qty": 1}], "note": "gift"}
    created = {"order_id": "O9", **arguments, "total": 12}
    lines = view.show("create_order", arguments, json.dumps(created)).splitlines()
    assert lines == ["the arguments sent, and:", "order_id: O9", "total: 12"]


def test_a_result_cut_to_the_bound_is_never_referred_to() -> None:
    view = ResultView("lines", 40)
    first = view.show("get_order", {}, json.dumps(ORDER))
    assert "[cut:" in first
    again = view.show("get_order", {}, json.dumps(ORDER))
    assert not again.startswith("as result")  # the agent never saw result 1 whole


def test_unrelated_results_and_plain_text_are_shown_whole() -> None:
    view = ResultView("lines", 1000)
    view.show("get_order", {}, json.dumps(ORDER))
    other = {"order_id": "O2", "customer": "bo", "status": "paid", "items": [], "note": ""}
    assert view.show("get_order", {"order_id": "O2"}, json.dumps(other)) == as_lines(json.dumps(other))
    assert view.show("ping", {}, "pong") == "pong"


def test_json_format_and_differences_off_show_every_result_whole() -> None:
    for view in (ResultView("json", None), ResultView("lines", None, differences=False)):
        expected = (lambda text: text) if view.fmt == "json" else as_lines
        view.show("get_order", {}, json.dumps(ORDER))
        assert view.show("get_order", {}, json.dumps(ORDER)) == expected(json.dumps(ORDER))


def test_of_equally_close_results_the_latest_is_referred_to() -> None:
    view = ResultView("lines", 1000)
    view.show("get_a", {}, json.dumps({"a": 1, "b": 2, "p": 1, "q": 1}))
    view.show("get_c", {}, json.dumps({"c": 3, "d": 4, "p": 2, "q": 2}))  # shares nothing with result 1: whole
    both = {"a": 1, "b": 2, "c": 3, "d": 4}  # two fields of each
    assert view.show("merge", {}, json.dumps(both)).splitlines()[0] == "as result 2 (get_c) except:"
