"""Class-based TF-IDF (as in BERTopic): the words that set one cluster's cards apart from the rest."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

__all__ = ["ctfidf_from_counts", "ctfidf_keywords"]

_WORD = re.compile(r"[a-z][a-z0-9_.]*[a-z0-9]")
_STOP = frozenset({
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "by", "at", "is", "are", "was",
    "were", "be", "been", "it", "its", "this", "that", "as", "not", "no", "from", "but", "than", "then",
    "there", "their", "they", "error", "errors"})


def _words(card: str) -> list[str]:
    # The leading code is listed on its own; keywords come from the tool and text parts.
    body = card.split(" | ", 1)[-1].lower()
    return [w for w in _WORD.findall(body) if w not in _STOP and "/" not in w]


def ctfidf_keywords(cards_by_cluster: Sequence[Sequence[str]], top: int = 6) -> list[list[str]]:
    """Top ``top`` keywords per cluster: tf within the cluster times log(1 + A / f_term),
    A the mean number of words per cluster and f_term the term's count over all clusters."""
    return ctfidf_from_counts([Counter(cards) for cards in cards_by_cluster], top)


def ctfidf_from_counts(card_counts: Sequence[Mapping[str, int]], top: int = 6) -> list[list[str]]:
    """:func:`ctfidf_keywords` from each cluster's distinct cards and how many members carry each: the same
    integer counts, so the same keywords, with each distinct card read once rather than once a member."""
    counts = []
    for cards in card_counts:
        c = Counter[str]()
        for card, n in cards.items():
            for w in _words(card):
                c[w] += n
        counts.append(c)
    total = Counter[str]()
    for c in counts:
        total.update(c)
    mean_words = sum(total.values()) / max(1, len(counts))
    out = []
    for c in counts:
        size = sum(c.values()) or 1
        scored = {w: (n / size) * math.log(1 + mean_words / total[w]) for w, n in c.items()}
        out.append([w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top]])
    return out
