"""Counts less an allowance, as candidate values for a number slot of the policy learner.

A request often states a count (items in all) where a slot wants the part beyond an allowance: the allowance is
a rate per unit (per item of an array the call already holds, per record of a list in a recent result) that
depends on facts of the dialogue (a category in a result, a value the call already chose). The candidates are
``max(0, count - rate * units)`` for small rates; the rate is described by thresholds ("rate >= q") crossed with
those facts, so a linear scorer can learn a lookup from facts to rate. Nothing here knows a domain.
"""

from __future__ import annotations

import re
from typing import Any

from clawloop_synth.learn.features import Episode

__all__ = ["MAX_RATE", "allowance_candidates", "context_facts", "unit_counts"]

MAX_RATE = 4
_MAX_FACTS = 16
# a category is written as a lowercase word or snake_case code ("gold", "basic_economy"); names, places and
# codes in capitals ("San Diego", "PHX") are not what a rate turns on, and crossing them only adds noise
_CATEGORY = re.compile(r"^[a-z][a-z_]{1,23}$")


def context_facts(ep: Episode, filled: dict[str, Any]) -> list[str]:
    """Categorical facts an allowance may turn on: the category values of the dialogue's results whose key
    holds that one value only (a profile's tier, a booking's class; not the statuses of several records), and
    the category values this call chose already (``slot=value``)."""
    values: dict[str, set[str]] = {}
    for lf in ep.leaves():
        if lf.ago <= 6 and not lf.key.startswith("txt:"):
            values.setdefault(lf.key, set()).add(str(lf.value))
    facts = sorted(f"{k}={next(iter(vs))}" for k, vs in values.items() if len(vs) == 1
                   and _CATEGORY.match(next(iter(vs))))[:_MAX_FACTS]
    facts += sorted(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in filled.items() if isinstance(v, str)
                    and _CATEGORY.match(v))
    return facts


def unit_counts(ep: Episode, arrays: dict[str, int]) -> dict[str, int]:
    """What an allowance may be counted per: the arrays this call filled already (slot path -> items) and the
    lists of objects in the last three results (result path -> records)."""
    out = {f"arg:{p}": n for p, n in arrays.items() if n > 0}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            if value and all(isinstance(v, dict) for v in value):
                out.setdefault(f"res:{path}[]", len(value))
            for v in value[:8]:
                walk(v, path + "[]")

    for tool, value, is_error in ep.results[-3:]:
        if not is_error:
            walk(value, tool)
    return out


def allowance_candidates(filled: dict[str, Any], units: dict[str, int], facts: list[str]
                         ) -> list[tuple[int, list[str]]]:
    """(value, feature names) for each earlier number slot's count less ``rate`` per unit, rate 0..MAX_RATE
    (stopping where the remainder reaches 0: larger rates give the same 0)."""
    counts = [(p.rsplit(".", 1)[-1], v) for p, v in filled.items()
              if isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 50]
    pairs = [f"{a}&{b}" for i, a in enumerate(facts) for b in facts[i + 1:]] + facts
    out: list[tuple[int, list[str]]] = []
    for slot, count in counts:
        for src, n in units.items():
            for rate in range(MAX_RATE + 1):
                value = max(0, count - rate * n)
                feats = ["src=allow", f"allow={slot}", f"allowper={src}", f"rate={rate}"]
                # thresholds: the score of rate r sums the weights of "rate >= q" for q <= r, so a fact can
                # push the rate up to its allowance and no further
                for q in range(1, rate + 1):
                    feats += [f"rate>={q}|per={src}"] + [f"rate>={q}|{f}" for f in pairs]
                out.append((value, feats))
                if value == 0:
                    break
    return out
