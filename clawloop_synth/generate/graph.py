"""The tool-dependency graph mined from traces: what is called, after what, and where values flow.

For every tool call of every trace: how often each tool is called, which tool was called just before
it, and *value-flow* edges: an argument value (a string of at least three characters, or any string
found among the state's entity keys) that first appeared in an earlier tool result gives the edge
``(producer tool, consumer tool, argument)``. Gold actions, when a trace has them, are kept as the
state-changing templates of that trace. Nothing here knows a domain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.types import GoldAction, Trace

__all__ = ["Flow", "ToolGraph", "build_graph", "leaf_strings"]

Flow = tuple[str, str, str]  # (producer tool, consumer tool, consumer argument)
_MIN_LEN = 3


def leaf_strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """``(top-level argument name, string)`` for every string leaf of a call's arguments."""
    out: list[tuple[str, str]] = []
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            out.extend(leaf_strings(item, path or str(key)))
    elif isinstance(value, list):
        for item in value:
            out.extend(leaf_strings(item, path))
    return out


@dataclass
class ToolGraph:
    """Counts mined from traces; every field is plain data so a graph can be saved as JSON."""

    calls: Counter[str] = field(default_factory=Counter)
    preceded_by: dict[str, Counter[str]] = field(default_factory=dict)
    flows: Counter[Flow] = field(default_factory=Counter)
    templates: list[tuple[str, list[GoldAction]]] = field(default_factory=list)  # (trace id, gold writes)
    traces: int = 0

    def producers(self, tool: str, argument: str | None = None) -> list[str]:
        """Tools whose results fed ``tool`` (its ``argument`` if given), most frequent first."""
        counts: Counter[str] = Counter()
        for (producer, consumer, arg), n in self.flows.items():
            if consumer == tool and (argument is None or arg == argument) and producer != tool:
                counts[producer] += n
        return [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def consumers(self, tool: str) -> list[str]:
        """Tools that used values ``tool`` returned, most frequent first."""
        counts: Counter[str] = Counter()
        for (producer, consumer, _), n in self.flows.items():
            if producer == tool and consumer != tool:
                counts[consumer] += n
        return [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def summary(self, top: int = 10) -> dict[str, Any]:
        return {
            "traces": self.traces,
            "calls": dict(self.calls.most_common()),
            "flows": [{"producer": p, "consumer": c, "argument": a, "count": n}
                      for (p, c, a), n in self.flows.most_common(top)],
            "templates": len(self.templates),
        }


def build_graph(traces: Iterable[Trace], writes: Iterable[str] = ()) -> ToolGraph:
    """Mine the graph from ``traces``; ``writes`` (state-changing tool names) filters gold templates."""
    write_set = set(writes)
    graph = ToolGraph()
    for trace in traces:
        graph.traces += 1
        seen: dict[str, str] = {}  # string -> the first tool whose result contained it
        previous: str | None = None
        for step in trace.tool_steps():
            name = step.call.name
            graph.calls[name] += 1
            if previous is not None:
                graph.preceded_by.setdefault(name, Counter())[previous] += 1
            previous = name
            flowed: set[tuple[str, str]] = set()
            for argument, value in leaf_strings(step.call.arguments):
                producer = seen.get(value)
                if producer is not None and len(value) >= _MIN_LEN and (producer, argument) not in flowed:
                    flowed.add((producer, argument))
                    graph.flows[(producer, name, argument)] += 1
            if step.result and not step.is_error:
                _index_result(step.result, name, seen)
        if trace.gold_actions:
            gold = [a for a in trace.gold_actions if not write_set or a.name in write_set]
            if gold:
                graph.templates.append((trace.id, gold))
    return graph


def _index_result(text: str, tool: str, seen: dict[str, str]) -> None:
    """Remember the quoted strings of a (JSON) result; the first producer of a value wins."""
    parts = text.split('"')
    # In JSON text the odd-numbered pieces between quotes are the strings (keys and values).
    for piece in parts[1::2] if len(parts) > 2 else [text.strip()]:
        if len(piece) >= _MIN_LEN and piece not in seen:
            seen[piece] = tool
