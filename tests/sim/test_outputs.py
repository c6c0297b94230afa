"""Required outputs judged by meaning: numbers by value and sign, words and digits as whole tokens."""

import pytest

from clawloop_synth.sim.checks import run_checks
from clawloop_synth.sim.outputs import find_output, number_tokens, parse_number
from clawloop_synth.types import Checks, Provenance, Solution, TaskSpec


@pytest.mark.parametrize(("text", "value"), [
    ("1064", 1064.0), ("$1,064", 1064.0), ("-1064", -1064.0), ("-$1,064.50", -1064.5), ("$-1064", -1064.0),
    ("1,000,000", 1e6), ("12.5", 12.5), ("2024-05-02", None), ("HAT123", None), ("1,06", None), ("", None),
])
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(("required", "answer", "ok"), [
    ("1064", "The total is $1,064.", True),
    ("1064", "The total is $1,064.00, thanks", True),
    ("$1,064", "you paid 1064 dollars", True),
    ("1064", "The total is 11064.", False),
    ("1064", "The total is -$1,064.", False),          # a positive amount is not met by a negative one
    ("-1064", "The fare difference is -$1,064.", True),
    ("-1064", "You will get a refund of $1,064.", True),  # the direction is in words
    ("-1064", "The new fare costs $1,064.", False),      # magnitude with no direction: not the same claim
    ("2", "You now have 2 checked bags.", True),
    ("2", "You now have 12 checked bags.", False),       # single digits are whole numbers, not substrings
    ("2", "Your flight on 2024-05-02 is booked.", False),
    ("2", "That costs 2.5 dollars.", False),
    ("A", "Any seat is fine.", False),                   # single characters are whole tokens
    ("HAT1", "flight HAT123", False),
    ("HAT123", "Your flight is HAT123.", True),
    ("hat123", "Your flight is HAT123.", True),
    ("Bob Smith", "Booked for bob smith, done", True),
])
def test_find_output(required: str, answer: str, ok: bool) -> None:
    assert find_output(required, answer)[0] is ok


def test_sign_detail_says_why() -> None:
    ok, detail = find_output("-1064", "It costs $1,064.")
    assert not ok and "negative" in detail
    ok, detail = find_output("1064", "It costs -1064.")
    assert not ok and "sign" in detail


def test_number_tokens_skip_dates_and_ids() -> None:
    assert [t.value for t in number_tokens("On 2024-05-02 flight HAT123 cost $1,064 (2 bags).")] == [1064.0, 2.0]


def test_run_checks_uses_meaning() -> None:
    task = TaskSpec(id="t", domain="d", instruction="", tools=[], initial_state={}, reference=Solution(),
                    checks=Checks(outcome=False, required_outputs=["-1064", "3"]),
                    provenance=Provenance(generator="test"))
    results = run_checks(task, {}, "You get a refund of $1,064 and now have 3 bags.")
    assert [r.passed for r in results] == [True, True]
    results = run_checks(task, {}, "It was $1,064 and 13 bags.")
    assert [r.passed for r in results] == [False, False]
