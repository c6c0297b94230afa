"""Which of a pack's tools hands the conversation to a person, read off the tool's name.

Packs do not declare it, so the name decides (``transfer_to_human_agents``, ``handoff``, ``escalate``):
the generic kit plans transfers with it, the always-transfer solver calls it, and the habit agents'
"escalates" habit hands off through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from clawloop_synth.types import ToolSpec

__all__ = ["HANDOFF_NAME", "handoff_arguments", "handoff_tool"]

HANDOFF_NAME = re.compile(r"transfer\w*_to_human|hand_?off|escalat", re.IGNORECASE)


def handoff_tool(tools: Iterable[ToolSpec]) -> ToolSpec | None:
    """The first tool whose name says it hands off to a person, or None."""
    return next((tool for tool in tools if HANDOFF_NAME.search(tool.name)), None)


def handoff_arguments(tool: ToolSpec, summary: str) -> dict[str, Any] | None:
    """The handoff's required arguments: every required string gets the summary; other kinds cannot be filled."""
    properties = tool.parameters.get("properties", {}) if isinstance(tool.parameters, dict) else {}
    required = [p for p in tool.parameters.get("required", []) if isinstance(p, str)] \
        if isinstance(tool.parameters, dict) else []
    args: dict[str, Any] = {}
    for name in required:
        schema = properties.get(name, {}) if isinstance(properties, dict) else {}
        if isinstance(schema, dict) and schema.get("type", "string") != "string":
            return None
        args[name] = summary
    return args
