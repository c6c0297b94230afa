"""The DPO export: TRL's conversational preference format with tools, loadable with `datasets`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.export import export_tasks
from clawloop_synth.export.conversation import prompt_messages, run_reference
from tests.export.tiny import make_task, make_workdir


def _trl_expected(task: Any) -> dict[str, Any]:
    """TRL's preference-with-tools row built by hand from TRL's documented format: ``prompt`` the opening
    turns, ``chosen``/``rejected`` the assistant (with ``tool_calls``) and tool turns that follow, ``tools``."""

    def turns(run: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, (name, arguments, content, _) in enumerate(run.results):
            out.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": arguments}}]})
            out.append({"role": "tool", "name": name, "tool_call_id": f"call_{n}", "content": content})
        out.append({"role": "assistant", "content": run.answer if run.answer is not None
                    else task.reference.answer})
        return out

    return {"prompt": prompt_messages(task), "chosen": turns(run_reference(task)),
            "rejected": turns(run_reference(task, solution=task.failure_exemplar)),
            "tools": [spec.openai_schema() for spec in task.tools]}


def _plain(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A loaded row's turns with the all-None keys dropped (Arrow gives every turn every key)."""
    out = []
    for m in messages:
        m = {k: v for k, v in m.items() if v is not None and (k != "tool_calls" or v)}
        if m["role"] == "assistant" and "content" not in m:
            m["content"] = None
        for call in m.get("tool_calls", []):
            arguments = call["function"]["arguments"]
            call["function"]["arguments"] = json.loads(arguments) if isinstance(arguments, str) else arguments
        out.append(m)
    return out


@pytest.fixture(scope="module")
def dpo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[Any]]:
    root = tmp_path_factory.mktemp("dpo")
    tasks = [make_task(i) for i in range(8)]
    tasks.append(make_task(8).model_copy(update={"id": "no-exemplar", "failure_exemplar": None}))
    work = make_workdir(root / "work", tasks)
    summary = export_tasks(work, "dpo", root / "out", max_tool_result_chars=None, tool_result_format="json")
    return root / "out", summary, tasks


def test_dpo_rows_follow_trls_preference_format_with_tools(dpo: tuple[Path, dict[str, Any], list[Any]]) -> None:
    from datasets import load_dataset, load_from_disk

    out, summary, tasks = dpo
    assert summary["exported"] == 8
    assert [(s["id"], "no failure exemplar" in s["reason"]) for s in summary["skipped"]] == [("no-exemplar", True)]
    saved = load_from_disk(str(out / "dataset"))
    parquet = load_dataset(str(out))
    by_id = {t.id: t for t in tasks}
    rows = [r for split in saved.values() for r in split]
    assert len(rows) == 8 and sum(len(s) for s in parquet.values()) == 8
    for row in rows:
        want = _trl_expected(by_id[row["id"]])
        assert _plain(row["prompt"]) == want["prompt"]
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert _plain(row["chosen"]) == want["chosen"]
        assert _plain(row["rejected"]) == want["rejected"]
        assert row["chosen"] != row["rejected"]
        assert [json.loads(t) if isinstance(t, str) else t for t in row["tools"]] == want["tools"]


def test_dpo_rows_pass_trls_own_checks_when_trl_is_installed(dpo: tuple[Path, dict[str, Any], list[Any]]) -> None:
    trl = pytest.importorskip("trl")
    from datasets import load_from_disk

    out, _, _ = dpo
    row = next(iter(load_from_disk(str(out / "dataset"))["train"]))
    assert trl.is_conversational(row)
    extracted = trl.extract_prompt({"chosen": row["prompt"] + row["chosen"],
                                    "rejected": row["prompt"] + row["rejected"]})
    assert extracted["prompt"] == row["prompt"]


class _TemplateTokenizer:
    """Just enough of a tokenizer for TRL's chat-template step: the tool-aware template of the SFT tests."""

    def apply_chat_template(self, messages: list[dict[str, Any]], tools: Any = None, tokenize: bool = False,
                            add_generation_prompt: bool = False, continue_final_message: bool = False,
                            **_: Any) -> str:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        from tests.export.test_sft_openai import CHAT_TEMPLATE

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
        env.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
        return env.from_string(CHAT_TEMPLATE).render(messages=messages, tools=tools,
                                                     add_generation_prompt=add_generation_prompt)


def test_trl_applies_the_chat_template_to_a_pair_with_its_tools(dpo: tuple[Path, dict[str, Any], list[Any]]) -> None:
    pytest.importorskip("trl")
    from trl.data_utils import maybe_apply_chat_template

    from datasets import load_from_disk

    out, _, _ = dpo
    row = next(iter(load_from_disk(str(out / "dataset"))["train"]))
    text = maybe_apply_chat_template(row, _TemplateTokenizer(), tools=row["tools"])
    assert text["prompt"].startswith("<|tools|>") and text["prompt"].rstrip().endswith("<|assistant|>")
    assert "<tool_call>" in text["chosen"] and "<tool_call>" in text["rejected"]
    assert text["chosen"] != text["rejected"]
