"""Whether a tool result's text shows an error: a non-zero exit code, an exception, a leading error word,
or nothing at all (an empty result). A leaf module: the tool inventory (``toolset.py``) needs it and
must not import the evidence detectors (``evidence.py``), which import the mining context, which
imports the inventory."""

from __future__ import annotations

import re

__all__ = ["HEAD", "error_kind"]

_EXIT = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>|\b(?:exit(?:ed)?(?: with)? (?:code|status)|"
                   r"return ?code|returned non-zero exit status)[:= ]\s*(-?\d+)", re.IGNORECASE)
_EXCEPTION = re.compile(r"Traceback \(most recent call last\)|^\s*(?:\w+\.)*\w*(?:Error|Exception)\b[:(]|"
                        r"\bpanicked at\b|\bFATAL\b|\bsegmentation fault\b", re.IGNORECASE | re.MULTILINE)
_ERROR_HEAD = re.compile(r"^\W{0,3}(error|failed|failure|exception|fatal)\b", re.IGNORECASE)
_EMPTY = {"", "[]", "{}", "null", "none", '""', "no results", "no results found"}
HEAD = 2000  # characters of a result read for its error signs


def error_kind(text: str | None) -> str | None:
    """``exit_code``, ``exception``, ``error_text`` or ``empty`` when the result's text shows one, else None."""
    body = (text or "").strip()
    if body.lower() in _EMPTY:
        return "empty"
    head = body[:HEAD]
    exit_match = _EXIT.search(head)
    if exit_match is not None:
        code = exit_match.group(1) or exit_match.group(2)
        return "exit_code" if code is not None and int(code) != 0 else None
    if _EXCEPTION.search(head):
        return "exception"
    if _ERROR_HEAD.search(head):
        return "error_text"
    return None
