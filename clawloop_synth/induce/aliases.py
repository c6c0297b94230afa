"""Recorded key aliases: a key of today's database that the recorded results spelled otherwise.

Found by walking a read result beside the database entity it shows: where one dict has exactly one
key the other lacks and both hold the same value, the database key was renamed. Kept when seen at
least twice and never contradicted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from clawloop_synth.induce.examples import Example

__all__ = ["induce_aliases"]


def _walk(today: Any, recorded: Any, out: Counter[tuple[str, str]]) -> None:
    if isinstance(today, dict) and isinstance(recorded, dict):
        only_today = [k for k in today if k not in recorded]
        only_recorded = [k for k in recorded if k not in today]
        if len(only_today) == 1 and len(only_recorded) == 1 and today[only_today[0]] == recorded[only_recorded[0]]:
            out[(only_today[0], only_recorded[0])] += 1
        for key in today:
            if key in recorded:
                _walk(today[key], recorded[key], out)
    elif isinstance(today, list) and isinstance(recorded, list) and len(today) == len(recorded):
        for a, b in zip(today, recorded, strict=True):
            _walk(a, b, out)


def induce_aliases(examples: Iterable[Example], state: Mapping[str, Any]) -> dict[str, str]:
    """``{today's key: recorded key}`` from read results of entities the database holds."""
    seen: Counter[tuple[str, str]] = Counter()
    for example in examples:
        if example.error or not isinstance(example.value, dict):
            continue
        for value in example.args.values():
            if not isinstance(value, str):
                continue
            for table in state.values():
                if isinstance(table, dict) and isinstance(table.get(value), dict):
                    _walk(table[value], example.value, seen)
    by_key: dict[str, Counter[str]] = {}
    for (today, recorded), count in seen.items():
        by_key.setdefault(today, Counter())[recorded] += count
    return {today: names.most_common(1)[0][0] for today, names in by_key.items()
            if len(names) == 1 and names.most_common(1)[0][1] >= 2}
