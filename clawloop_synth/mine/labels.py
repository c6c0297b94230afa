"""Cluster labels: offline from codes and c-TF-IDF keywords, or named by an LLM."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Labelled", "cluster_codes", "offline_label"]


class Labelled(Protocol):
    """What labelling reads of a failure (a Failure, or the cluster stage's lighter Member)."""

    @property
    def code(self) -> str: ...

    @property
    def tool(self) -> str | None: ...

    @property
    def card(self) -> str: ...


def cluster_codes(members: Sequence[Labelled], min_share: float = 0.2) -> list[str]:
    """Codes that make up at least ``min_share`` of the members (always the most common one)."""
    counts = Counter(f.code for f in members)
    ranked = counts.most_common()
    return [code for i, (code, n) in enumerate(ranked) if i == 0 or n / len(members) >= min_share]


def offline_label(members: Sequence[Labelled], keywords: Sequence[str]) -> str:
    """``leaf words: tools (keywords)``, e.g. ``wrong argument: book_reservation (payment_methods)``.

    One tool is named when it covers half the members, else the two most common; identifier-like
    keywords (argument names) come before plain words.
    """
    code = Counter(f.code for f in members).most_common(1)[0][0]
    leaf = code.split("/")[-1].replace("_", " ")
    tools = Counter(f.tool for f in members if f.tool).most_common(2)
    dominant = bool(tools) and tools[0][1] / len(members) >= 0.5
    named = [tools[0][0]] if dominant else [tool for tool, _ in tools]
    rest = [k for k in keywords if k not in named and k not in leaf.split()]
    extra = sorted(rest, key=lambda k: "_" not in k)[:2]
    label = f"{leaf}: {', '.join(named)}" if named else leaf
    return f"{label} ({', '.join(extra)})" if extra else label
