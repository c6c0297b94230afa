"""The ingest stage's plain-dict form of a trace must stay ``types.Trace`` field for field."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where
from clawloop_synth.ingest.records import make_trace
from clawloop_synth.ingest.trace_record import TRACE_RECORD
from clawloop_synth.types import Trace


def _without_descriptions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_descriptions(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [_without_descriptions(v) for v in value]
    return value


def test_the_record_schema_is_the_trace_schema() -> None:
    record = _without_descriptions(TRACE_RECORD.json_schema())
    model = _without_descriptions(Trace.model_json_schema())
    # Same names, types, bounds, defaults, required fields; and the same field order (the JSON written).
    assert json.loads(json.dumps(record).replace("Record", "")) == model
    assert list(record["properties"]) == list(model["properties"])
    for name, definition in model["$defs"].items():
        assert list(record["$defs"][name + "Record"]["properties"]) == list(definition["properties"])


FULL = {"id": "t1", "source": "openai_chat", "task_id": "k", "domain": "d",
        "messages": [{"role": "user", "content": "hé \u2028 \x01"},
                     {"role": "assistant", "tool_calls": [{"id": "c", "name": "f", "arguments": {"x": 1.5e-7}}]},
                     {"role": "tool", "tool_call_id": "c", "content": "{}", "is_error": False}],
        "tools": [{"type": "function", "function": {"name": "f"}}], "reward": 0.25,
        "signals": {"s": {"name": "s", "value": -0.5}}, "gold_actions": [{"name": "f"}], "gold_outputs": ["7"],
        "gold_failure": {"agent": "a", "step": 1, "reason": "r"}, "metadata": {"n": [1, 2**63, None, 1e300]}}


@pytest.mark.parametrize("fields", [FULL, {"id": "t2", "source": "tau_bench", "messages": [{"role": "user"}]}],
                         ids=["every-field", "defaults"])
def test_a_record_writes_the_json_its_trace_would(fields: dict[str, Any]) -> None:
    record = make_trace(fields, Where("f.jsonl", "line 1"))
    assert orjson.dumps(record).decode() == Trace.model_validate(fields).model_dump_json()


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"messages": [{"role": "user", "tool_call_id": 3}]}, "messages.0.tool_call_id", "valid string"),
    ({"reward": 1.5}, "reward", "less than or equal to 1"),
    ({"signals": {"s": {"name": "s", "value": 2}}}, "signals.s.value", "less than or equal to 1"),
    ({"gold_failure": {"agent": "a", "step": "x", "reason": "r"}}, "gold_failure.step", "valid integer"),
    ({"colour": "red"}, "colour", "Extra inputs"),
])
def test_a_bad_field_names_its_place(change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        make_trace({**FULL, **change}, Where("f.jsonl", "line 4"))
    assert (caught.value.file, caught.value.record, caught.value.field) == ("f.jsonl", "line 4", field)
    assert words in caught.value.message
