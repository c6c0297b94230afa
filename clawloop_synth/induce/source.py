"""Small helpers that emit readable sandbox Python: literals, argument lists, text templates."""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Template", "fit_template", "literal", "signature", "template_expr", "var"]

Template = tuple[tuple[str, str], ...]  # parts: ("lit", text) or ("ref", expression)


def literal(value: Any) -> str:
    """A Python expression for a JSON value (``true`` -> ``True``; repr keeps strings exact)."""
    return repr(json.loads(json.dumps(value)))


def var(name: str) -> str:
    """A safe Python name for an argument (the sandbox refuses leading underscores)."""
    text = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name).lstrip("_") or "arg"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = "arg_" + text
    return text


def signature(required: Sequence[str], optional: Sequence[str]) -> str:
    """``def invoke(state, a, b=None)`` for the tool's arguments."""
    params = ["state", *(var(name) for name in required), *(f"{var(name)}=None" for name in optional)]
    return "def invoke(" + ", ".join(params) + "):"


def _render(value: Any) -> str:
    return str(value)


def fit_template(text: str, context: Mapping[str, Any]) -> Template:
    """``text`` with every occurrence of a context value replaced by a reference to its expression.

    ``context`` maps a Python expression (``user_id``, ``entity["status"]``) to its value in this
    example; longer values are replaced first so that ``HAT0301`` is not split by ``HAT030``.
    """
    values = []
    for expr, value in context.items():
        if isinstance(value, dict | list):
            continue
        shown = _render(value)
        if len(shown) >= 2 or (shown.isdigit() and shown not in ("0", "1")):
            values.append((shown, expr))
    values.sort(key=lambda item: -len(item[0]))
    parts: list[tuple[str, str]] = [("lit", text)]
    for shown, expr in values:
        fresh: list[tuple[str, str]] = []
        for kind, piece in parts:
            if kind != "lit" or shown not in piece:
                fresh.append((kind, piece))
                continue
            # Only whole words: "no" must not match inside "not", nor "2" inside "1203".
            pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(shown) + r"(?![A-Za-z0-9_])")
            position = 0
            for hit in pattern.finditer(piece):
                if hit.start() > position:
                    fresh.append(("lit", piece[position:hit.start()]))
                fresh.append(("ref", expr))
                position = hit.end()
            if position < len(piece):
                fresh.append(("lit", piece[position:]))
        parts = fresh
    return tuple(parts)


def template_expr(template: Template) -> str:
    """The Python expression building the template's text."""
    pieces = [literal(piece) if kind == "lit" else f"str({piece})" for kind, piece in template]
    return " + ".join(pieces) if pieces else '""'


