"""Whether a final answer states a required output: numbers by value, words as whole tokens.

- A required output that reads as a number ("1064", "-1064", "$1,064.00", "12.5") is met by a number
  token of the answer with the same value: currency signs and thousands separators do not matter,
  and a number is only ever a whole token (a required "2" is not met by "12", "2.5" or "2024-05-02").
- The sign is honoured: a negative amount is met by the same negative amount ("-1,064", "-$1,064",
  "$-1064"), or by its magnitude when the words next to it give the direction ("a refund of $1,064",
  "1064 less"), since that is how people state a negative difference. A positive amount is never met
  by a negative one.
- Any other required output ("HAT123", "Bob Smith") must appear as a whole token sequence,
  case-insensitively: "A" is not met by "any", "HAT1" is not met by "HAT123".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NumberToken", "find_output", "number_tokens", "parse_number"]

# A token: a run of characters that may belong to a number or an id (dates and ids stay one token).
_TOKEN = re.compile(r"[\w$€£.,:/+\-]+")
_NUMBER = re.compile(r"^(?P<s1>[-+\u2212])?(?P<cur>[$€£])?(?P<s2>[-+\u2212])?"
                     r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?(?P<cur2>[$€£])?$")
# Words that state a negative amount's direction when they sit next to its magnitude.
_DIRECTION = re.compile(r"\b(refund\w*|credit\w*|back|less|lower|decrease\w*|reduc\w*|cheaper|sav\w*|"
                        r"discount\w*|returned|reimburs\w*|minus|negative)\b")
_NEAR = 40  # characters either side of a number searched for a direction word


@dataclass(frozen=True)
class NumberToken:
    value: float
    signed: bool  # the text carried an explicit minus sign
    start: int
    end: int


def parse_number(text: str) -> float | None:
    """The value of ``text`` when the whole of it is one number (currency and separators allowed)."""
    match = _NUMBER.match(text.strip())
    if match is None:
        return None
    value = float(match["int"].replace(",", "") + (match["frac"] or ""))
    negative = (match["s1"] or match["s2"] or "") in ("-", "\u2212")
    return -value if negative else value


def _strip(token: str, start: int) -> tuple[str, int]:
    """Drop sentence punctuation around a token ("1064." -> "1064", "(12," -> "12")."""
    left = len(token) - len(token.lstrip(".,:/"))
    token = token.strip(".,:/")
    return token, start + left


def number_tokens(text: str) -> list[NumberToken]:
    """Every whole-token number in ``text`` with its position."""
    out = []
    for match in _TOKEN.finditer(text):
        token, start = _strip(match.group(), match.start())
        value = parse_number(token)
        if value is not None:
            out.append(NumberToken(value, value < 0 or token.lstrip("+$€£").startswith(("-", "\u2212")),
                                   start, start + len(token)))
    return out


def _directed(text: str, token: NumberToken) -> bool:
    window = text[max(0, token.start - _NEAR): token.end + _NEAR].lower()
    return _DIRECTION.search(window) is not None


def find_output(required: str, answer: str) -> tuple[bool, str]:
    """Whether ``answer`` states ``required``, and a short detail saying how (or why not)."""
    answer = answer or ""
    want = parse_number(required)
    if want is None:
        words = required.strip().lower()
        if not words:
            return True, "empty requirement"
        pattern = r"(?<![\w])" + re.escape(words) + r"(?![\w])"
        if re.search(pattern, answer.lower()):
            return True, "found in the answer"
        return False, "not in the answer"
    numbers = number_tokens(answer)
    if any(n.value == want for n in numbers):
        return True, "found in the answer"
    if want < 0 and any(n.value == -want and _directed(answer, n) for n in numbers):
        return True, "found as a magnitude with its direction stated"
    if want < 0 and any(n.value == -want for n in numbers):
        return False, f"{-want:g} is in the answer but nothing says it is negative (a refund, a reduction)"
    if want > 0 and any(n.value == -want for n in numbers):
        return False, f"the answer has {-want:g}: the sign is wrong"
    return False, "not in the answer"
