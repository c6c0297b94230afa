"""Planted transient faults: a tool whose handler answers with an error while the state says an outage is
pending (the transient-error injectors put one on a reference write), and the messages each fault answers with."""

from __future__ import annotations

import re

from clawloop_synth.types import ToolSpec

__all__ = ["OUTAGE_KEY", "TRANSIENT", "with_outage"]

OUTAGE_KEY = "procedural_outages"

# Transient faults: the message the wrapped tool answers with once (the taxonomy classifies each).
TRANSIENT = {
    "environment/system/service_unavailable": "service temporarily unavailable, please retry",
    "environment/system/timeout": "the request timed out, please retry",
    "environment/system/rate_limit": "rate limit exceeded (429 too many requests), please retry",
    "environment/system/server_error": "internal server error (500), please retry",
    "agent/planning/missing_retry": "service temporarily unavailable, please retry",
}

_INVOKE = re.compile(r"^def invoke\(", re.MULTILINE)


def with_outage(tool: ToolSpec, message: str) -> ToolSpec:
    """``tool`` whose handler first answers ``Error: message`` while the state's counter for it is positive."""
    inner = _INVOKE.sub("def invoke_without_outage(", tool.handler)
    wrapper = (
        "\n\ndef invoke(state, **kwargs):\n"
        f"    pending = state.get({OUTAGE_KEY!r}, {{}})\n"
        f"    if pending.get({tool.name!r}, 0) > 0:\n"
        f"        pending[{tool.name!r}] = pending[{tool.name!r}] - 1\n"
        f"        return {('Error: ' + message)!r}\n"
        "    return invoke_without_outage(state, **kwargs)\n"
    )
    return tool.model_copy(update={"handler": inner + wrapper})
