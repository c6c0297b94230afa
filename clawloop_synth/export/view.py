"""What one episode's agent is shown for each tool result: each result once, repeats written as a difference.

A write usually answers with the whole entity it changed (the reservation after its flights changed,
the new booking with everything the call sent), so in a tool loop most of a write's result repeats
what the episode already shows. In the ``lines`` format :class:`ResultView` writes such a result as
what is new in it:

- ``as result N (TOOL) except:`` and the fields that differ, when an earlier result of the episode,
  shown whole, has at least half of its fields with the same values (``without: ...`` names the
  fields the new result no longer has);
- ``the arguments sent, and:`` and the other fields, when two or more fields equal the call's
  arguments of the same name.

Both are lossless within the episode: the fields left out are on screen, in an earlier result or in
the call. Measured on the airline run's tasks (``evals/rl_completion_airline.py``). The ``json``
format shows every result exactly as the simulator returned it.
"""

from __future__ import annotations

import json
from typing import Any

from clawloop_synth.export.bound import DEFAULT_MAX_TOOL_RESULT_CHARS, as_lines, bound_result, field_lines

__all__ = ["ResultView"]


def _object(content: str) -> dict[str, Any] | None:
    stripped = content.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def _same(value: dict[str, Any], other: dict[str, Any]) -> list[str]:
    return [key for key, item in value.items() if key in other and other[key] == item]


class ResultView:
    """Shows one episode's tool results in ``fmt``, each cut to ``max_chars`` (see ``bound.shown_result``).

    ``differences=False`` shows every result whole (the baseline the eval measures against).
    """

    def __init__(self, fmt: str = "lines", max_chars: int | None = DEFAULT_MAX_TOOL_RESULT_CHARS,
                 differences: bool = True) -> None:
        from clawloop_synth.export.bound import RESULT_FORMATS

        if fmt not in RESULT_FORMATS:
            raise ValueError(f"unknown tool result format {fmt!r} (known: {', '.join(RESULT_FORMATS)})")
        self.fmt, self.max_chars, self.differences = fmt, max_chars, differences
        self._count = 0
        self.last_cut = False  # whether the last result shown was cut to max_chars
        self._whole: list[tuple[int, str, dict[str, Any]]] = []  # results shown uncut: number, tool, object

    def show(self, name: str, arguments: Any, content: str) -> str:
        """The text shown for this call's result (the episode's next one)."""
        self._count += 1
        if self.fmt == "json":
            cut = bound_result(content, self.max_chars)
            self.last_cut = cut != content
            return cut
        value = _object(content)
        text = None
        if value is not None and self.differences:
            text = self._difference(value, arguments if isinstance(arguments, dict) else {})
        shown = as_lines(content) if text is None else text
        cut = bound_result(shown, self.max_chars)
        self.last_cut = cut != shown
        if value is not None and text is None and cut == shown:
            self._whole.append((self._count, name, value))  # only what the agent saw in full can be referred to
        return cut

    def _difference(self, value: dict[str, Any], arguments: dict[str, Any]) -> str | None:
        sent = [key for key, item in value.items() if key in arguments and arguments[key] == item]
        # the latest of the results that share the most: the version of the entity the agent saw last
        best = max(reversed(self._whole), key=lambda shown: len(_same(value, shown[2])), default=None)
        same = _same(value, best[2]) if best else []
        if best and len(same) >= max(2, len(value) / 2) and len(same) > len(sent):
            number, tool, earlier = best
            rest = {key: item for key, item in value.items() if key not in same}
            gone = [key for key in earlier if key not in value]
            lines = [f"as result {number} ({tool}) except:" if rest or gone else f"as result {number} ({tool})"]
            if gone:
                lines.append("without: " + ", ".join(gone))
            return "\n".join(lines + field_lines(rest))
        if len(sent) >= 2:
            rest = {key: item for key, item in value.items() if key not in sent}
            return "\n".join(["the arguments sent, and:" if rest else "the arguments sent", *field_lines(rest)])
        return None
