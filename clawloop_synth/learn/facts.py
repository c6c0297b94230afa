"""Facts an answer may report that no single result leaf holds: totals over records listed together, and
which record holds the least or most of a value (the cheapest fare, the earliest leg). Nothing here knows a domain.
"""

from __future__ import annotations

import re

from clawloop_synth.learn.features import Leaf

__all__ = ["extreme_records", "sums"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def sums(leaves: list[Leaf]) -> list[Leaf]:
    """Derived facts: the total of one key's numbers over the records of one result listed together (what a
    split payment adds up to), as a leaf keyed ``<key>#sum`` in the result's first such record."""
    groups: dict[tuple[int, str], list[Leaf]] = {}
    for lf in leaves:
        if isinstance(lf.value, (int, float)) and not isinstance(lf.value, bool) and "[]" in lf.path \
                and not lf.key.startswith("txt:"):
            groups.setdefault((lf.ago, f"{lf.tool}{lf.path}"), []).append(lf)
    out = []
    for group in groups.values():
        if len({lf.record for lf in group}) >= 2 and len(group) <= 12:
            total = sum(lf.value for lf in group)
            total = round(total, 2) if isinstance(total, float) else total
            first = group[0]
            out.append(Leaf(total, first.key + "#sum", first.path + "#sum", first.tool, first.ago, first.record))
    return out


def extreme_records(leaves: list[Leaf]) -> dict[int, list[str]]:
    """For each record, the numeric (or calendar-date) result paths of two or more records in one result whose
    least or most value it holds (the cheapest fare; the earliest flight of a trip), as ``min:num=<path>``,
    ``max:date=<path>`` and so on."""
    groups: dict[tuple[int, str, str], list[tuple[float, int]]] = {}
    for lf in leaves:
        if lf.key.startswith("txt:"):
            continue
        if isinstance(lf.value, (int, float)) and not isinstance(lf.value, bool):
            num, kind = float(lf.value), "num"
        elif isinstance(lf.value, str) and _DATE.match(lf.value):
            num, kind = float(lf.value.replace("-", "")), "date"
        else:
            continue
        groups.setdefault((lf.ago, kind, f"{lf.tool}{lf.path}"), []).append((num, lf.record))
    out: dict[int, list[str]] = {}
    for (_, kind, path), vals in groups.items():
        if len({r for _, r in vals}) < 2 or len({v for v, _ in vals}) < 2:
            continue
        lo, hi = min(vals)[0], max(vals)[0]
        for v, r in vals:
            if v == lo:
                out.setdefault(r, []).append(f"min:{kind}={path}")
            if v == hi:
                out.setdefault(r, []).append(f"max:{kind}={path}")
    return out
