"""Redact secrets and personal data from text before it leaves the process.

Each finding becomes a typed placeholder: ``<PRIVATE_KEY>`` (a PEM block, also one whose END
marker is cut off or only the END half), ``<API_KEY>``, ``<TOKEN>`` (after ``Bearer``), ``<JWT>``
(a bare JSON Web Token), ``<AWS_KEY>``, ``<COOKIE>`` (a ``Cookie:``/``Set-Cookie:`` header value),
``<SECRET>`` (the value of ``api_key=...``, ``aws_secret_access_key = ...``, ``"password": "..."``,
``sessionid=...`` and the like), ``<PASSWORD>`` (in ``scheme://user:pass@host``, ``/`` allowed),
``<EMAIL>``, ``<CARD>`` (13-19 digits that pass the Luhn check; a number that fails it is left
alone: it is more likely an id), ``<PHONE>``.

Phones without separators are where ids live, so the rules are: ``415-555-0132``, ``(415)
555-0132`` and ``+44 20 7946 0958`` always; ``415 555 0199`` when it is a valid North American
number (area code and exchange start with 2-9); ``4155550123`` only after a word such as phone,
call, mobile or reach on the same line (``item ids 6454334990`` stays).

The rules follow detect-secrets' plugins (private key, AWS, JWT, keyword, basic-auth URL) and the
NANP numbering plan, as regular expressions: neither detect-secrets nor phonenumbers is a
dependency, and these run on every prompt (each rule only when its hint occurs in the text).

Order matters: secrets first (they contain digits and ``@``), then URL passwords, e-mails, cards
and phones last, so that a card number is never half-eaten by the phone pattern.

:func:`redact_messages` also looks across messages (a key split in two halves at a message
boundary) and redacts the value of any secret-named key of structured tool-call arguments.
Text that is clipped for a prompt is redacted first (:func:`clip`), so a PEM block cut at 240
characters cannot lose the END marker that its rule needs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["clip", "luhn_ok", "redact", "redact_messages", "redact_messages_with_counts", "redact_texts",
           "redact_with_counts"]

T = TypeVar("T")

_KEY_NAMES = (r"api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret(?:[_-]?access)?[_-]?key|client[_-]?secret"
              r"|secret|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|password|passwd|pwd"
              r"|(?:php|j)?sess(?:ion)?[_-]?(?:id|token|key)|connect\.sid")
_B64 = r"[A-Za-z0-9+/=]"
_PEM_GAP = r"(?:\s|\\[nr])"  # a line break, or its escape inside JSON text

# (placeholder kind, compiled pattern, replacement, hints). A rule runs only when one of its hints
# occurs in the text (case-folded hints in the case-folded text): every match of the pattern contains
# one, so skipping is exact, and most prompts carry none of them (each scan costs ~0.1-0.2 ms per 5 KB).
_Rule = tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str], tuple[str, ...]]
_RULES: list[_Rule] = [
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "<PRIVATE_KEY>", ("-----BEGIN ",)),
    # the END marker is missing (the text was cut): the base64 lines after BEGIN
    ("PRIVATE_KEY", re.compile(rf"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:{_PEM_GAP}*{_B64}{{16,}})*"),
     "<PRIVATE_KEY>", ("-----BEGIN ",)),
    # only the second half (the BEGIN marker was in another message, or cut off)
    ("PRIVATE_KEY", re.compile(rf"(?:{_B64}{{16,}}{_PEM_GAP}+)+-----END [A-Z ]*PRIVATE KEY-----"),
     "<PRIVATE_KEY>", ("-----END ",)),
    ("TOKEN", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 <TOKEN>", ("~bearer",)),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{6,}"), "<JWT>", ("eyJ",)),
    ("API_KEY", re.compile(r"\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}"), "<API_KEY>", ("sk-",)),
    ("API_KEY", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}"
                           r"|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})"), "<API_KEY>",
     ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "hf_", "glpat-")),
    ("AWS_KEY", re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b"), "<AWS_KEY>", ("AKIA", "ASIA", "AIDA", "AROA")),
    # a header's whole value: Cookie: a=1; b=2 / "Set-Cookie": "sid=...; Path=/"
    ("COOKIE", re.compile(r"(?i)(\b(?:set-)?cookie[\"']?\s*:\s*[\"']?)(?!<)([^\"'\r\n]+)"), r"\1<COOKIE>",
     ("~cookie",)),
    # key = value, key: value, "key": "value" (JSON), key='value', also after a prefix
    # (aws_secret_access_key); every key name contains a hint
    ("SECRET", re.compile(rf"(?i)((?<![A-Za-z0-9])(?:{_KEY_NAMES})\b[\"']?\s*[:=]\s*[\"']?)(?!<)([^\s\"',;&}}]+)"),
     r"\1<SECRET>", ("~key", "~secret", "~token", "~passw", "~pwd", "~sess", "~sid")),
]
# line-local rules (see redact_with_counts), applied after _RULES
_LINE_RULES: list[_Rule] = [
    # the password may hold "/", but a port ("host:443/path@x") is not a password
    ("PASSWORD", re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+):(?!\d{1,5}/)(?!<)([^\s@]+)@(?=[A-Za-z0-9\[])"),
     r"\1:<PASSWORD>@", ("://",)),
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


# issuers' first digits are 2-6; a digit or a decimal point with digits beside it means a longer number,
# but a sentence's full stop ("Pay with 4111 1111 1111 1111.") does not
_CARD = re.compile(r"(?<!\d)(?<!\d\.)[2-6](?:[ -]?\d){12,18}(?!\d|\.\d)")
_PHONE = re.compile(
    r"(?<![\w.+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"  # +44 20 7946 0958, +15551234567
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"  # (555) 123-4567
    r"|\d{3}[.-]\d{3}[.-]\d{4}"  # 555-123-4567
    r"|[2-9]\d{2} [2-9]\d{2} \d{4}"  # 415 555 0199: a valid NANP area code and exchange
    r"|1?[2-9]\d{2}[2-9]\d{6}"  # 4155550123: only after a phone word (see _phone)
    r")(?![\w.])"
)
_PHONE_WORD = re.compile(r"(?i)\b(?:phone|tel|mobile|cell|call|sms|text|whatsapp|fax|contact|reach|dial)")
_PHONE_CONTEXT = 40  # characters before a bare number searched for a phone word, on its own line


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


def _bare_number_is_a_phone(match: re.Match[str]) -> bool:
    text, start = match.string, match.start()
    line_start = text.rfind("\n", 0, start) + 1
    return _PHONE_WORD.search(text, max(line_start, start - _PHONE_CONTEXT), start) is not None


def _phone(counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    def phone(match: re.Match[str]) -> str:
        if match.group().isdigit() and not _bare_number_is_a_phone(match):
            return match.group()  # an id, an amount in cents, a timestamp...
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


def clip(text: str | None, limit: int, ellipsis: str = "…") -> str:
    """``text`` redacted, on one line, then clipped to ``limit`` characters (redaction first: a
    secret cut in half no longer matches its rule)."""
    text = " ".join(redact(text or "").split())
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis


_SECRET_KEY = re.compile(rf"(?i)^(?:[\w.-]*[_.-])?(?:{_KEY_NAMES}|cookie|set-cookie|authorization)$")


def _walk(value: Any, counts: Counter[str], key: Any = None) -> Any:
    if isinstance(key, str) and _SECRET_KEY.match(key) and isinstance(value, str | int | float) \
            and not isinstance(value, bool) and str(value) and not str(value).startswith("<"):
        counts["SECRET"] += 1
        return "<SECRET>"  # structured arguments: a secret-named key, whatever its value looks like
    if isinstance(value, str):
        text, found = redact_with_counts(value)
        counts.update(found)
        return text
    if isinstance(value, list):
        return [_walk(v, counts) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, counts, k) for k, v in value.items()}
    return value


# The run of characters a secret may be written in, at the end and at the start of a text.
_TAIL = re.compile(r"[A-Za-z0-9_+/=.:~-]+$")
_HEAD = re.compile(r"^[A-Za-z0-9_+/=.:~-]+")


def _join_split_secrets(out: list[dict[str, Any]], counts: Counter[str]) -> None:
    """Redact a secret split at the boundary of two consecutive messages' text contents: the last
    token of one and the first of the next are checked as one token; when they form a secret that
    neither half is alone, both halves become the placeholder."""
    previous: tuple[dict[str, Any], re.Match[str]] | None = None
    for message in out:
        content = message.get("content")
        if not isinstance(content, str):
            previous = None
            continue
        head = _HEAD.match(content)
        if previous is not None and head is not None:
            before, tail = previous
            joined = tail.group() + head.group()
            redacted = redact(joined)
            if redacted != joined and redact(tail.group()) == tail.group() and redact(head.group()) == head.group():
                kinds = re.findall(r"<[A-Z_]+>", redacted)
                mark = kinds[0] if kinds else "<SECRET>"
                counts[mark.strip("<>")] += 1
                text = before["content"]
                before["content"] = text[: tail.start()] + mark
                content = mark + content[head.end():]
                message["content"] = content
        tail_match = _TAIL.search(content)
        previous = (message, tail_match) if tail_match is not None else None


def redact_texts(texts: list[str]) -> list[str]:
    """The texts of one conversation, in order, each redacted, and a secret split across two consecutive
    texts redacted in both (for prompts that render a conversation as one text)."""
    return [m["content"] for m in redact_messages([{"content": text} for text in texts])]


def redact_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A redacted copy of chat messages: every string inside (content parts, tool-call arguments),
    secret-named keys of structured arguments, and secrets split across two messages."""
    return redact_messages_with_counts(messages)[0]


def redact_messages_with_counts(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Counter[str]]:
    """:func:`redact_messages` and how many findings of each kind it replaced."""
    counts: Counter[str] = Counter()
    out = [{k: (v if k in ("role", "tool_call_id") else _walk(v, counts)) for k, v in m.items()} for m in messages]
    _join_split_secrets(out, counts)
    return out, +counts
