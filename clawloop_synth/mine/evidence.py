"""Error evidence in tool results of any domain, and who it blames.

A result shows an error when the source flagged it, or its text does: a non-zero exit code
(``<returncode>1</returncode>``, ``exit code 2``), an exception or traceback, a leading ``error``
word. An empty result (``[]``, ``{}``, nothing) is weaker evidence: a query that matched nothing.

Who is to blame is told apart from the text: the tool reported an error of its own (a timeout, an
outage, a crash with nothing of the call in it), or the agent's command or arguments were wrong
(the error quotes what the agent passed, or reads as a usage or syntax complaint).
"""

from __future__ import annotations

import re
from typing import Any

from clawloop_synth.mine.context import MineContext, failure
from clawloop_synth.mine.error_text import HEAD as _HEAD
from clawloop_synth.mine.error_text import error_kind
from clawloop_synth.mine.taxonomy import FALLBACK_ERROR, classify_error
from clawloop_synth.types import Failure, ToolStep, Trace

__all__ = ["EMPTY_RESULT", "INVALID_COMMAND", "blames_agent", "classify_step", "error_kind", "result_evidence"]

INVALID_COMMAND = "agent/action/invalid_command"
EMPTY_RESULT = "agent/action/empty_result"


def _values(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _values(item, out)
    elif isinstance(value, list):
        for item in value:
            _values(item, out)


_TOKEN = re.compile(r"[\w./-]{4,}")
_USAGE = re.compile(r"\busage:|\bcommand not found\b|\bsyntax ?error\b|\bunrecognized (option|argument)|"
                    r"\b(invalid|unknown|illegal) option\b|\bno such file or directory\b|\bis not recognized as\b|"
                    r"\bunexpected (token|eof|end of file|indent)|\bNameError\b|\bmissing operand\b", re.IGNORECASE)
# Words common to commands and error texts alike: quoting them proves nothing.
_COMMON = {"error", "file", "line", "true", "false", "none", "null", "with", "from", "that", "this", "python",
           "bash", "echo", "test", "tests", "self", "return", "import"}


def blames_agent(text: str, arguments: dict[str, Any]) -> bool:
    """Whether an error text says the agent's command or arguments were wrong: a usage or syntax
    complaint, or it quotes a distinctive token of what the agent passed."""
    head = text[:_HEAD]
    if _USAGE.search(head):
        return True
    values: list[str] = []
    _values(arguments, values)
    tokens = {t for v in values for t in _TOKEN.findall(v) if t.lower() not in _COMMON and not t.isdigit()}
    return any(t in head for t in tokens)


def classify_step(step: ToolStep) -> str:
    """The leaf code of a failed call: the taxonomy's class of its error text when it has one;
    otherwise the agent's invalid command when the text blames the agent, or an unclassified tool error."""
    text = step.result or ""
    code = classify_error(text)
    if code != FALLBACK_ERROR:
        # A crash whose text quotes the agent's command is the agent's program failing, not the service.
        if code == "environment/system/server_error" and blames_agent(text, step.call.arguments):
            return INVALID_COMMAND
        return code
    return INVALID_COMMAND if blames_agent(text, step.call.arguments) else FALLBACK_ERROR


def result_evidence(trace: Trace, ctx: MineContext) -> list[Failure]:
    """In a failed trace, results the source did not flag whose text shows an error (exit code,
    exception, error word), and empty results. Flagged errors are the error-result detector's.

    An empty result counts only from a tool that answers something elsewhere (for a ``think`` tool
    nothing is the answer), and only when no later call of that tool got a non-empty one."""
    if not ctx.failed(trace):
        return []
    out = []
    steps = trace.tool_steps()
    for n, step in enumerate(steps):
        if step.is_error or step.result_index is None:
            continue
        kind = error_kind(step.result)
        if kind is None:
            continue
        text = step.result or ""
        if kind == "empty":
            if step.call.name not in ctx.tools.answering or any(
                    s.call.name == step.call.name and error_kind(s.result) != "empty" for s in steps[n + 1:]):
                continue
            out.append(failure(trace, step.result_index, EMPTY_RESULT, "empty_result",
                               f"{step.call.name} returned nothing", tool=step.call.name,
                               arguments=step.call.arguments, detail=f"{step.call.name} empty result"))
            continue
        code = classify_step(step)
        out.append(failure(trace, step.result_index, code, "result_evidence", text, tool=step.call.name,
                           arguments=step.call.arguments, error=text[:500], detail=f"{step.call.name} {kind}"))
    return out
