"""Handlers whose result does not depend on the state: a constant, or an arithmetic expression's value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from clawloop_synth.induce.examples import Example

__all__ = ["ARITHMETIC_SOURCE", "FORMATS", "constant_result", "expression_arg"]

# How an evaluator's number is printed; the recording decides which one a tool uses.
FORMATS = {
    "round2": "str(round(float(value), 2))",
    "plain": "str(value)",
}


def constant_result(examples: Sequence[Example]) -> tuple[str, int] | None:
    """The most common result text and how many examples show it."""
    if not examples:
        return None
    text, count = Counter(e.text for e in examples).most_common(1)[0]
    return text, count


def expression_arg(examples: Sequence[Example]) -> str | None:
    """The one string argument that always holds arithmetic (digits, operators, parentheses)."""
    allowed = set("0123456789+-*/(). ")
    names: set[str] | None = None
    for example in examples:
        here = {name for name, value in example.args.items()
                if isinstance(value, str) and value.strip() and set(value) <= allowed
                and any(ch.isdigit() for ch in value)}
        names = here if names is None else names & here
    return sorted(names)[0] if names and len(examples) >= 2 else None


ARITHMETIC_SOURCE = '''
DIGITS = "0123456789."


def tokens_of(text):
    found = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch in DIGITS:
            j = i
            while j < len(text) and text[j] in DIGITS:
                j += 1
            number = text[i:j]
            if number.count(".") > 1 or number == ".":
                raise ValueError("invalid syntax")
            found.append(float(number) if "." in number else int(number))
            i = j
        elif ch in "+-*/()":
            found.append(ch)
            i += 1
        else:
            raise ValueError("invalid characters in expression")
    return found


def parse_sum(tokens, at):
    value = parse_product(tokens, at)
    while at[0] < len(tokens) and tokens[at[0]] in ("+", "-"):
        op = tokens[at[0]]
        at[0] += 1
        right = parse_product(tokens, at)
        value = value + right if op == "+" else value - right
    return value


def parse_product(tokens, at):
    value = parse_unary(tokens, at)
    while at[0] < len(tokens) and tokens[at[0]] in ("*", "/"):
        op = tokens[at[0]]
        at[0] += 1
        right = parse_unary(tokens, at)
        if op == "*":
            value = value * right
        elif right == 0:
            raise ValueError("division by zero")
        else:
            value = value / right
    return value


def parse_unary(tokens, at):
    if at[0] < len(tokens) and tokens[at[0]] in ("+", "-"):
        op = tokens[at[0]]
        at[0] += 1
        value = parse_unary(tokens, at)
        return -value if op == "-" else value
    if at[0] >= len(tokens):
        raise ValueError("invalid syntax")
    token = tokens[at[0]]
    at[0] += 1
    if token == "(":
        value = parse_sum(tokens, at)
        if at[0] >= len(tokens) or tokens[at[0]] != ")":
            raise ValueError("invalid syntax")
        at[0] += 1
        return value
    if isinstance(token, str):
        raise ValueError("invalid syntax")
    return token


def evaluate(text):
    tokens = tokens_of(text)
    at = [0]
    value = parse_sum(tokens, at)
    if at[0] != len(tokens):
        raise ValueError("invalid syntax")
    return value
'''
