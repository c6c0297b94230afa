"""Which tools the traces use, whether a domain pack's tools are the same ones, and near-miss names.

Mining reads the traces' own tools: the schemas a trace declares (its ``tools`` field) or, when it
declares none, the names its calls show. A pack's schemas apply only when the pack is the traces'
domain, i.e. the traces' tools are (almost all) the pack's tools: a pack of another domain would
turn every call into a "nonexistent tool".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.types import Trace

__all__ = ["ToolInventory", "declared_schemas", "inventory", "matching_packs", "near_miss", "pack_mismatch",
           "tools_match"]

# Share of the traces' tool uses a pack must provide to be their domain: a few hallucinated or
# misnamed calls do not disqualify the right pack, another domain's pack shares (almost) nothing.
MATCH_SHARE = 0.9


def declared_schemas(trace: Trace) -> dict[str, dict[str, Any]]:
    """Tool name -> JSON Schema of its parameters, from the trace's ``tools`` field."""
    out: dict[str, dict[str, Any]] = {}
    for tool in trace.tools:
        fn = tool.get("function", tool)
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            out.setdefault(fn["name"], params if isinstance(params, dict) else {})
    return out


@dataclass
class ToolInventory:
    """Tool names over many traces: ``declared`` (schemas carried by traces, counted per trace),
    ``called`` (calls made, counted per call) and ``answering`` (tools that returned a non-empty
    result at least once: for the others, such as a ``think`` tool, nothing is what they return)."""

    declared: Counter[str] = field(default_factory=Counter)
    called: Counter[str] = field(default_factory=Counter)
    answering: set[str] = field(default_factory=set)

    def add(self, trace: Trace) -> None:
        from clawloop_synth.mine.error_text import error_kind

        self.declared.update(declared_schemas(trace).keys())
        self.called.update(call.name for m in trace.messages for call in m.tool_calls)
        self.answering.update(s.call.name for s in trace.tool_steps()
                              if s.result_index is not None and s.call.name not in self.answering
                              and error_kind(s.result) != "empty")

    def names(self) -> Counter[str]:
        """The traces' tools, weighted: declared names when traces declare any, else the called ones."""
        return self.declared if self.declared else self.called


def inventory(traces: Iterable[Trace]) -> ToolInventory:
    """The :class:`ToolInventory` of ``traces`` (one pass)."""
    inv = ToolInventory()
    for trace in traces:
        inv.add(trace)
    return inv


def tools_match(trace_tool_names: Mapping[str, int] | Iterable[str], pack_tool_names: Iterable[str],
                min_share: float = MATCH_SHARE) -> bool:
    """True when the pack provides at least ``min_share`` of the traces' tool uses (names weighted by
    their counts when a mapping is given). No tool use at all matches no pack: nothing says the
    domain is the same."""
    weights = trace_tool_names if isinstance(trace_tool_names, Mapping) else Counter(trace_tool_names)
    total = sum(weights.values())
    if total <= 0:
        return False
    pack = set(pack_tool_names)
    return sum(n for name, n in weights.items() if name in pack) / total >= min_share


def matching_packs(trace_tool_names: Mapping[str, int] | Iterable[str],
                   packs: Mapping[str, Iterable[str]]) -> list[str]:
    """Names of the packs (name -> tool names) whose tools match the traces', in the given order."""
    names = trace_tool_names if isinstance(trace_tool_names, Mapping) else Counter(trace_tool_names)
    return [name for name, tools in packs.items() if tools_match(names, tools)]


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance <= 1, or one transposition of neighbours."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1:]


def near_miss(name: str, declared: Iterable[str]) -> str | None:
    """The declared tool that ``name`` misspells: equal but for case and separators
    (``maps_get_distance`` for ``maps.get_distance``), or one edit away (``get_appointments``); None
    when no declared name is that close (a made-up tool). Names of fewer than 5 letters need the
    first rule, one edit there turns one word into another."""
    squashed = _squash(name)
    candidates = [d for d in declared if d != name]
    for other in candidates:
        if _squash(other) == squashed:
            return other
    if len(squashed) < 5:
        return None
    close = sorted(d for d in candidates if len(_squash(d)) >= 5 and _within_one_edit(_squash(d), squashed))
    return close[0] if close else None


def pack_mismatch(trace_tool_names: Mapping[str, int], domain: str, packs: Mapping[str, Iterable[str]]) -> str | None:
    """None when the ``domain`` pack's tools are the traces'; else one line saying what is wrong and
    what to do next (``packs``: every known pack's tool names)."""
    wanted = packs.get(domain)
    if wanted is not None and tools_match(trace_tool_names, wanted):
        return None
    others = [name for name in matching_packs(trace_tool_names, packs) if name != domain]
    if others:
        return (f"the traces' tools are those of the {others[0]} pack, not the {domain} pack: "
                f"run with --pack {others[0]}")
    shown = ", ".join(list(trace_tool_names)[:6]) or "no tool calls at all"
    more = f" and {len(trace_tool_names) - 6} more" if len(trace_tool_names) > 6 else ""
    return (f"the traces' tools ({shown}{more}) match no known domain pack ({', '.join(packs)}): give a pack "
            f"with these tools (--pack PATH) or build one from the traces (clawloop-synth induce)")
