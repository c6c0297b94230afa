"""Redact secrets and personal data from text before it leaves the process.

Each finding becomes a typed placeholder: ``<API_KEY>``, ``<TOKEN>`` (after ``Bearer``),
``<AWS_KEY>``, ``<SECRET>`` (the value of ``api_key=...``, ``"password": "..."`` and the like),
``<PASSWORD>`` (in ``scheme://user:pass@host``), ``<EMAIL>``, ``<CARD>`` (13-19 digits that pass
the Luhn check; a number that fails it is left alone: it is more likely an id), ``<PHONE>``.

Order matters: secrets first (they contain digits and ``@``), then URL passwords, e-mails, cards
and phones last, so that a card number is never half-eaten by the phone pattern.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["luhn_ok", "redact", "redact_messages", "redact_with_counts"]

T = TypeVar("T")

_KEY_NAMES = (r"api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?[_-]?key|client[_-]?secret"
              r"|secret|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|password|passwd|pwd")

# (placeholder kind, compiled pattern, replacement, hints). A rule runs only when one of its hints
# occurs in the text (case-folded hints in the case-folded text): every match of the pattern contains
# one, so skipping is exact, and most prompts carry none of them (each scan costs ~0.1-0.2 ms per 5 KB).
_Rule = tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str], tuple[str, ...]]
_RULES: list[_Rule] = [
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "<PRIVATE_KEY>", ("-----BEGIN ",)),
    ("TOKEN", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <TOKEN>", ("~bearer",)),
    ("API_KEY", re.compile(r"\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}"), "<API_KEY>", ("sk-",)),
    ("API_KEY", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}"
                           r"|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})"), "<API_KEY>",
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "hf_", "glpat-")),
    ("AWS_KEY", re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b"), "<AWS_KEY>", ("AKIA", "ASIA", "AIDA", "AROA")),
    # key = value, key: value, "key": "value" (JSON), key='value'; every key name contains a hint
    ("SECRET", re.compile(rf"(?i)(\b(?:{_KEY_NAMES})\b[\"']?\s*[:=]\s*[\"']?)(?!<)([^\s\"',;&}}]+)"), r"\1<SECRET>",
     ("~key", "~secret", "~token", "~passw", "~pwd")),
]
# line-local rules (see redact_with_counts), applied after _RULES
_LINE_RULES: list[_Rule] = [
    ("PASSWORD", re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+):([^\s@/]+)@"), r"\1:<PASSWORD>@", ("://",)),
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "<EMAIL>", ("@",)),
]


def _wanted(hints: tuple[str, ...], text: str, folded: list[str]) -> bool:
    """Whether ``text`` holds one of ``hints`` ("~x": x case-folded, as ``(?i)`` matches it; checked
    exhaustively for the hint letters, no other code point matches them under ``(?i)``)."""
    for hint in hints:
        if hint[0] == "~":
            if not folded:
                folded.append(text.casefold())
            if hint[1:] in folded[0]:
                return True
        elif hint in text:
            return True
    return False


_CARD = re.compile(r"(?<![\d.])[2-6](?:[ -]?\d){12,18}(?![\d.])")  # issuers' first digits are 2-6
_PHONE = re.compile(
    r"(?<![\w.+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"  # +44 20 7946 0958, +15551234567
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"  # (555) 123-4567
    r"|\d{3}[.-]\d{3}[.-]\d{4}"  # 555-123-4567
    r")(?![\w.])"
)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            counts["CARD"] += 1
            return "<CARD>"
        return match.group()

    return card


def _phone(counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    def phone(match: re.Match[str]) -> str:
        if 7 <= sum(ch.isdigit() for ch in match.group()) <= 15:  # E.164 allows at most 15 digits
            counts["PHONE"] += 1
            return "<PHONE>"
        return match.group()

    return phone


_LINES: dict[str, tuple[str, Counter[str]]] = {}
_LINES_MAX = 8192


def _redact_line(line: str) -> tuple[str, Counter[str]]:
    """The last rules (URL passwords, e-mails, cards, phones) on one line, memoized: prompts repeat
    most of their lines from call to call (tool lists, state shapes, cluster briefs)."""
    hit = _LINES.get(line)
    if hit is not None:
        return hit
    counts: Counter[str] = Counter()
    text = line
    for kind, pattern, repl, hints in _LINE_RULES:
        if _wanted(hints, text, []):
            text, n = pattern.subn(repl, text)
            counts[kind] += n
    text = _CARD.sub(_card(counts), text)
    text = _PHONE.sub(_phone(counts), text)
    if len(_LINES) >= _LINES_MAX:
        _LINES.clear()
    _LINES[line] = (text, counts)
    return text, counts


def redact_with_counts(text: str) -> tuple[str, Counter[str]]:
    """The redacted text and how many findings of each kind were replaced."""
    counts: Counter[str] = Counter()
    folded: list[str] = []  # the case-folded text, computed when a rule first needs it
    for kind, pattern, repl, hints in _RULES:
        if not _wanted(hints, text, folded):
            continue
        text, n = pattern.subn(repl, text)
        if n:
            counts[kind] += n
            folded.clear()
    # The remaining rules never match across a line break, and their look-arounds treat "\n" like the
    # start or end of the text (it is neither a word character, a digit, "." nor "+"), so they may
    # run line by line with the same result.
    lines = text.split("\n")
    for n, line in enumerate(lines):
        lines[n], found = _redact_line(line)
        counts.update(found)
    return "\n".join(lines), +counts


def redact(text: str) -> str:
    """``text`` with every secret and personal datum replaced by a typed placeholder."""
    return redact_with_counts(text)[0]


def _walk(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_walk(v) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v) for k, v in value.items()}
    return value


def redact_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A redacted copy of chat messages: every string inside (content parts, tool-call arguments)."""
    return [{k: (v if k in ("role", "tool_call_id") else _walk(v)) for k, v in m.items()} for m in messages]
