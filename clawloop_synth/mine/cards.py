"""Normalized one-line failure cards: the text that gets embedded and clustered.

Entity ids, numbers, dates, times, e-mails and URLs become placeholders so that two failures of
the same kind on different records read the same and land in the same cluster.
"""

from __future__ import annotations

import re

__all__ = ["make_card", "normalize_text"]

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"https?://\S+|www\.\S+"), "<URL>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<EMAIL>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)?\b"), "<DATE>"),
    (re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"), "<DATE>"),
    (re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]m)?\b", re.IGNORECASE), "<TIME>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<ID>"),
    # A token with both letters and digits is an identifier (HAT136, credit_card_4421486, #W123).
    (re.compile(r"#?\b(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[\w-]+\b"), "<ID>"),
    (re.compile(r"[$€£]?\b\d[\d,]*(?:\.\d+)?\b"), "<NUM>"),
    (re.compile(r"\s+"), " "),
]

_MAX = 240


def normalize_text(text: str) -> str:
    """Replace entities with placeholders and collapse whitespace to one line."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = text.strip()
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def make_card(code: str, tool: str | None, text: str) -> str:
    """``leaf code | tool | normalized text``; the code's words help the embedder group by kind."""
    return f"{code} | {tool or '-'} | {normalize_text(text)}"
