"""``Siblings``: one walk of a state answers every value as a walk per value would, keys in the same order."""

from __future__ import annotations

from typing import Any

from clawloop_synth.generate.procedural.mutate import Siblings, siblings


def _walk(state: Any, value: str, limit: int = 40) -> list[str]:
    """The definition: a depth-first walk per value, collecting the other keys of each object holding it."""
    found: list[str] = []
    stack = [state]
    while stack and len(found) < limit:
        node = stack.pop()
        if isinstance(node, dict):
            if value in node:
                found.extend(k for k in node if k != value and k not in found)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return found[:limit]


def test_one_walk_gives_each_value_the_keys_a_walk_per_value_gives() -> None:
    state = {
        "users": {f"u{i}": {"orders": [f"o{i}", f"o{i + 1}"], "cards": {f"c{i}": {}, f"c{i + 7}": {}}}
                  for i in range(30)},
        "orders": {f"o{i}": {"items": [{"k": i}, {"sku": {f"s{i}": 1, "s0": 2}}]} for i in range(30)},
        "nested": [[{"u3": 1, "x": 2}], {"c5": {"u3": 0, "y": 1}}],
    }
    held = Siblings(state)
    for value in ["u3", "c5", "o4", "s0", "k", "missing", "x"]:
        for limit in (40, 3, 1):
            assert held.of(value, limit) == _walk(state, value, limit), (value, limit)
            assert siblings(state, value, limit) == _walk(state, value, limit)
