"""The conversation formats: SFT (TRL) loads and renders with a tool-aware chat template; OpenAI JSONL validates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from clawloop_synth.export import export_tasks
from clawloop_synth.sim import SimEnv
from clawloop_synth.types import TaskSpec

# A small chat template in the style of tool-capable models' templates (no model download).
CHAT_TEMPLATE = """
{%- if tools %}<|tools|>{% for tool in tools %}{{ tool | tojson }}
{% endfor %}{% endif -%}
{%- for message in messages -%}
<|{{ message.role }}|>
{%- if message.role == 'assistant' and message.tool_calls -%}
{%- for call in message.tool_calls -%}
<tool_call>{"name": {{ call.function.name | tojson }}, "arguments": {{ call.function.arguments | tojson }}}</tool_call>
{%- endfor -%}
{%- elif message.role == 'tool' -%}
<tool_response name="{{ message.name }}">{{ message.content }}</tool_response>
{%- else -%}
{{ message.content }}
{%- endif -%}
<|end|>
{% endfor -%}
{%- if add_generation_prompt %}<|assistant|>{% endif -%}
"""


def _render(messages: list, tools: list) -> str:
    """Render like transformers' apply_chat_template: a sandboxed Jinja environment with tojson."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    env.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    return env.from_string(CHAT_TEMPLATE).render(messages=messages, tools=tools, add_generation_prompt=False)


@pytest.fixture(scope="module")
def sft_out(airline_workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sft") / "out"
    return out, export_tasks(airline_workdir, "sft", out)


@pytest.fixture(scope="module")
def openai_out(airline_workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("openai") / "out"
    return out, export_tasks(airline_workdir, "openai", out)


def test_sft_loads_without_cast_errors_and_every_row_renders(sft_out: tuple[Path, dict],
                                                             airline_accepted: list[TaskSpec]) -> None:
    from datasets import load_dataset, load_from_disk

    out, summary = sft_out
    assert summary["exported"] == len(airline_accepted)
    saved = load_from_disk(str(out / "dataset"))
    files = {split: str(out / "data" / f"{split}-00000-of-00001.parquet") for split in summary["splits"]}
    parquet = load_dataset("parquet", data_files=files)
    by_id = {t.id: t for t in airline_accepted}
    rows = 0
    for dataset in (saved, parquet):
        for split in dataset.values():
            for row in split:
                task = by_id[row["id"]]
                messages, tools = row["messages"], row["tools"]
                assert [m["role"] for m in messages[:2]] == ["system", "user"]
                assert messages[-1] == {**messages[-1], "role": "assistant", "content": task.reference.answer}
                calls = [c for m in messages for c in m["tool_calls"]]
                assert [(c["function"]["name"], c["function"]["arguments"]) for c in calls] == \
                    [(c.name, c.arguments) for c in task.reference.calls]
                assert all(isinstance(c["function"]["arguments"], dict) for c in calls)
                assert [t["function"]["name"] for t in tools] == [s.name for s in task.tools]
                text = _render(messages, tools)
                assert task.reference.answer in text and text.count("<tool_call>") == len(calls)
                rows += 1
    assert rows == 2 * len(airline_accepted)


def test_sft_tool_turns_hold_the_simulated_results(sft_out: tuple[Path, dict],
                                                   airline_accepted: list[TaskSpec]) -> None:
    from datasets import load_from_disk

    out, _ = sft_out
    row = load_from_disk(str(out / "dataset"))["train"][0]
    task = next(t for t in airline_accepted if t.id == row["id"])
    env = SimEnv(task)
    from clawloop_synth.export.view import ResultView

    # what the simulator returned, shown as the export shows it by default (key: value lines, bounded,
    # repeats of the episode written as differences)
    view = ResultView()
    expected = [view.show(call.name, call.arguments, env.step(call).content) for call in task.reference.calls]
    tool_turns = [m for m in row["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_turns] == expected
    assert [m["name"] for m in tool_turns] == [c.name for c in task.reference.calls]


def test_openai_lines_parse_and_arguments_validate(openai_out: tuple[Path, dict],
                                                   airline_accepted: list[TaskSpec]) -> None:
    out, summary = openai_out
    lines = [line for split in summary["splits"] for line in
             (out / "data" / f"{split}.jsonl").read_text().splitlines()]
    assert len(lines) == len(airline_accepted) == summary["exported"]
    checked = 0
    for line in lines:
        record = json.loads(line)
        assert set(record) == {"messages", "tools", "parallel_tool_calls"} and record["parallel_tool_calls"] is False
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in record["tools"]}
        pending: set[str] = set()
        for message in record["messages"]:
            for call in message.get("tool_calls") or []:
                assert isinstance(call["function"]["arguments"], str)
                arguments = json.loads(call["function"]["arguments"])
                jsonschema.validate(arguments, schemas[call["function"]["name"]])
                pending.add(call["id"])
                checked += 1
            if message["role"] == "tool":
                assert message["tool_call_id"] in pending
                pending.remove(message["tool_call_id"])
        assert not pending and record["messages"][-1]["role"] == "assistant"
    assert checked == sum(len(t.reference.calls) for t in airline_accepted)


def test_openai_card_has_no_dataset_info(openai_out: tuple[Path, dict]) -> None:
    out, summary = openai_out
    card = (out / "README.md").read_text()
    assert "dataset_info" not in card.split("---\n")[1]
    assert "data/train.jsonl" in card and "JSON strings" in card
