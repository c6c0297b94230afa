"""Cluster labels: offline from codes and c-TF-IDF keywords, or named by an LLM."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from clawloop_synth.types import Failure

__all__ = ["cluster_codes", "offline_label"]


def cluster_codes(members: Sequence[Failure], min_share: float = 0.2) -> list[str]:
    """Codes that make up at least ``min_share`` of the members (always the most common one)."""
    counts = Counter(f.code for f in members)
    ranked = counts.most_common()
    return [code for i, (code, n) in enumerate(ranked) if i == 0 or n / len(members) >= min_share]


def offline_label(members: Sequence[Failure], keywords: Sequence[str]) -> str:
    """``leaf words: tool (keyword, keyword)``, e.g. ``wrong argument: book_reservation (payment_methods)``."""
    code = Counter(f.code for f in members).most_common(1)[0][0]
    leaf = code.split("/")[-1].replace("_", " ")
    tools = Counter(f.tool for f in members if f.tool)
    tool = tools.most_common(1)[0][0] if tools and tools.most_common(1)[0][1] / len(members) >= 0.5 else None
    extra = [k for k in keywords if k != tool and k not in leaf.split()][:2]
    label = f"{leaf}: {tool}" if tool else leaf
    return f"{label} ({', '.join(extra)})" if extra else label
