"""Scripted model answers for the LLM-path tests: valid demo drafts chosen by the prompt's slot."""

from __future__ import annotations

import re
from typing import Any

from clawloop_synth.demo import build_demo_tasks, demo_pack
from clawloop_synth.generate.drafts import draft_of
from clawloop_synth.types import ToolSpec
from tests.fake_openai import Behaviour, ok

_SLOT = re.compile(r"variation (\d+) of")


def good_drafts(code: str = "agent/action/missing_action", n: int = 8) -> list[dict[str, Any]]:
    tasks = [t for t in build_demo_tasks(40, 0) if t.target_code == code][:n]
    return [draft_of(t, list(demo_pack().tools)).model_dump(mode="json") for t in tasks]


def broken_handler(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft with its first reference tool replaced by a handler that crashes."""
    name = draft["reference"]["calls"][0]["name"]
    spec = next(t for t in list(demo_pack().tools) if t.name == name)
    bad = ToolSpec(name=spec.name, description=spec.description, parameters=spec.parameters,
                   handler="def invoke(state, **args):\n    return state['no_such_collection']['x']\n",
                   writes=spec.writes)
    return {**draft, "new_tools": [bad.model_dump(mode="json")]}


def slot_of(body: dict[str, Any]) -> int:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    match = _SLOT.search(user)
    return int(match.group(1)) - 1 if match else 0


def by_slot(drafts: list[dict[str, Any]]) -> Any:
    """A responder: the draft of the prompt's slot (a repair gets the same, valid, draft)."""

    def respond(body: dict[str, Any]) -> Behaviour:
        return ok(drafts[slot_of(body) % len(drafts)])

    return respond
