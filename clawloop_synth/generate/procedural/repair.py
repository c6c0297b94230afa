"""A drawn write that the pack refuses with a figure in the message, retried with that figure.

A handler that checks a computed total (a booking's price, a fee) usually says what it computed:
"payment amount does not add up, total price is 1064, but paid 300". The generic kit draws a write's
numeric arguments from recorded calls, so such a total almost never comes out right by chance. An agent
facing a real API reads the figure off the error; :func:`figure_repairs` proposes the same repair for
a drawn call: each number the message states, put into one numeric argument leaf. When that leaf is
one of several items of a list that hold the same field (a payment split over two methods), the other
items are either dropped or keep their amounts with this one taking the rest, so the items add up to
the figure. The kit tries each proposal in the simulator and keeps the first the pack accepts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from clawloop_synth.generate.procedural.mutate import Path, get_at, leaves

__all__ = ["figure_repairs"]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_FIGURES = 3  # numbers of one message tried (the first ones: the computed figure usually comes first)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _numeric_leaves(value: Any) -> list[Path]:
    return [path for path, leaf in leaves(value) if isinstance(leaf, int | float) and not isinstance(leaf, bool)]


def _variants(args: dict[str, Any], path: Path, figure: int | float) -> Iterator[dict[str, Any]]:
    """``args`` with the leaf at ``path`` set to ``figure`` (and its list's other items made to fit)."""
    new = copy.deepcopy(args)
    *head, last = path
    get_at(new, tuple(head))[last] = figure
    yield new
    if len(head) < 2 or not isinstance(head[-1], int):
        return
    items = get_at(args, tuple(head[:-1]))
    if not isinstance(items, list) or len(items) < 2:
        return
    index = head[-1]
    others = [item for i, item in enumerate(items) if i != index and isinstance(item, dict)
              and isinstance(item.get(last), int | float) and not isinstance(item.get(last), bool)]
    if len(others) != len(items) - 1:
        return
    alone = copy.deepcopy(args)
    get_at(alone, tuple(head[:-1]))[:] = [copy.deepcopy(items[index]) | {last: figure}]
    yield alone
    rest = figure - sum(item[last] for item in others)
    if rest > 0:
        shared = copy.deepcopy(args)
        get_at(shared, tuple(head))[last] = _number(str(round(rest, 2)))
        yield shared


def figure_repairs(args: dict[str, Any], message: str) -> Iterator[dict[str, Any]]:
    """Copies of ``args`` with a figure the error ``message`` states in one numeric argument leaf."""
    paths = _numeric_leaves(args)
    current = {get_at(args, path) for path in paths}
    seen: set[str] = set()
    for text in _NUMBER.findall(message)[:_FIGURES]:
        figure = _number(text)
        if figure in current or text in seen:
            continue  # a figure the call already sends (the "paid" half of the message) repairs nothing
        seen.add(text)
        for path in paths:
            yield from _variants(args, path, figure)
