"""Redaction: unit cases, and the request body the server actually received."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from pydantic import BaseModel

from clawloop_synth.llm import LLM, LLMConfig
from clawloop_synth.redact import luhn_ok, redact, redact_messages, redact_with_counts
from tests.fake_openai import FakeOpenAI, ok

VISA = "4111 1111 1111 1111"  # the classic test number: passes Luhn
NOT_A_CARD = "4111111111111112"  # 16 digits, fails Luhn: an id, not a card

PLANTED = {
    "sk-proj-AbCdEf0123456789GhIjKlMn": "<API_KEY>",
    "eyJhbGciOiJIUzI1NiJ9.payload.sig": "<TOKEN>",  # after "Bearer"
    "AKIAIOSFODNN7EXAMPLE": "<AWS_KEY>",
    "s3cr3t-value-42": "<SECRET>",  # api_key=...
    "hunter2pass": "<PASSWORD>",  # in a URL
    "jane.doe@example.com": "<EMAIL>",
    "+1 (415) 555-0132": "<PHONE>",
    VISA: "<CARD>",
}


def trace_prompt() -> list[dict[str, object]]:
    """A trace-like conversation with every kind of secret planted in content and tool arguments."""
    return [
        {"role": "system", "content": "Summarize the failing trace."},
        {"role": "user", "content": "I am Jane, reach me at jane.doe@example.com or +1 (415) 555-0132. "
                                    f"Pay with {VISA}; my booking ref is {NOT_A_CARD}."},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "http_get", "arguments": json.dumps({
                "url": "https://admin:hunter2pass@db.internal/x",
                "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"}})}}]},
        {"role": "tool", "tool_call_id": "c1",
         "content": "error: config has OPENAI key sk-proj-AbCdEf0123456789GhIjKlMn, "
                    "aws AKIAIOSFODNN7EXAMPLE, api_key=s3cr3t-value-42"},
    ]


class Summary(BaseModel):
    summary: str


def test_every_planted_secret_is_replaced_in_the_request_the_server_received(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(ok({"summary": "done"}))
    llm = LLM(LLMConfig("openai/fake", api_base=fake_openai.base_url, api_key="k"))
    llm.structured(trace_prompt(), Summary, stage="label")
    received = json.dumps(fake_openai.requests[0])
    for secret, placeholder in PLANTED.items():
        assert secret not in received, secret
        assert placeholder in received, placeholder
    assert NOT_A_CARD in received  # fails Luhn: left alone
    assert "Jane" in received and "db.internal" in received  # the rest of the trace survives


def test_redaction_can_be_turned_off(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(ok({"summary": "done"}))
    llm = LLM(LLMConfig("openai/fake", api_base=fake_openai.base_url, api_key="k", redact=False))
    llm.structured(trace_prompt(), Summary, stage="label")
    assert "jane.doe@example.com" in json.dumps(fake_openai.requests[0])


@pytest.mark.parametrize(("text", "expected"), [
    ("key sk-ant-api03-abcdefghijklmnop0123", "key <API_KEY>"),
    ("Authorization: Bearer abc.def-ghi_12345", "Authorization: Bearer <TOKEN>"),
    ('{"password": "pa55word!", "user": "bob"}', '{"password": "<SECRET>", "user": "bob"}'),
    ("export API_KEY='xyz123456'", "export API_KEY='<SECRET>'"),
    ("postgres://bob:pw%40x@host:5432/db", "postgres://bob:<PASSWORD>@host:5432/db"),
    ("card 5555-5555-5555-4444 ok", "card <CARD> ok"),
    ("call 415-555-0132 now", "call <PHONE> now"),
    ("call +44 20 7946 0958", "call <PHONE>"),
    ("mail a.b+c@mail.example.org.", "mail <EMAIL>."),
])
def test_each_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "flight HAT001 on 2024-05-15 at 10:30, total $1234.56, user mia_li_3668, reservation 4WQ150",
    "order #W2378156 with 3 items, item ids 1008292230 and 6454334990",
    "trace id 4111111111111112 step 12 of 40",
    "max_tokens=512, tokens used 1034",
])
def test_ordinary_trace_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_luhn_and_counts() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    _, counts = redact_with_counts("x@y.io and z@w.io, 4111111111111111")
    assert counts == {"EMAIL": 2, "CARD": 1}


def test_redact_messages_keeps_structure() -> None:
    messages = trace_prompt()
    out = redact_messages(messages)
    assert [m["role"] for m in out] == [m["role"] for m in messages]
    assert out[3]["tool_call_id"] == "c1" and out[2]["tool_calls"][0]["function"]["name"] == "http_get"
    assert "jane.doe@example.com" in str(messages[1]["content"])  # the input is not modified


@pytest.mark.parametrize("text", [
    *PLANTED, str(trace_prompt()), "KEY=abc123def", "Secret: hunter2", "ſecret=abc", "tOkEn: zz99",
    "api\u212aey=abcdef", "Keywords: none, keys: 3", "BEARER\n  abcdefghijk", "ghp_" + "a" * 36,
    "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----", "u@h.io https://a:b@c.d",
])
def test_skipping_rules_and_line_memo_change_nothing(text: str) -> None:
    """Hints, line-by-line rules and their memo are shortcuts: the result equals every rule applied in
    order to the whole text."""
    import clawloop_synth.redact as red

    def reference(value: str) -> str:
        for _kind, pattern, repl, _hints in [*red._RULES, *red._LINE_RULES]:
            value = pattern.sub(repl, value)
        value = red._CARD.sub(red._card(Counter()), value)
        return red._PHONE.sub(red._phone(Counter()), value)

    for variant in (text, f"x\n{text}\n{text}\ny", text.replace(" ", "\n")):
        assert redact(variant) == reference(variant)
        assert redact(variant) == reference(variant)  # memoized lines


# ------------------------------------------------------------------ issue 14: secrets that got through

PEM_BODY = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"] * 12)
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"  # noqa: E501


@pytest.mark.parametrize(("text", "secret"), [
    (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET),
    (f'{{"aws_secret_access_key": "{AWS_SECRET}"}}', AWS_SECRET),
    (f"the token is {JWT} ok", JWT),
    ("call me on 415 555 0199 tonight", "415 555 0199"),
    ("my phone: 4155550123", "4155550123"),
    ("reach me at 14155550123", "4155550123"),
    ("Cookie: sessionid=9f8e7d6c5b4a3f2e1d0c; csrftoken=Zx81Qw", "9f8e7d6c5b4a3f2e1d0c"),
    ("Set-Cookie: session=eyJfcGVybWFuZW50Ijp0cnVlfQ.ZmFrZQ; Path=/; HttpOnly", "eyJfcGVybWFuZW50Ijp0cnVlfQ"),
    ('{"headers": {"Cookie": "connect.sid=s%3Aabcdef123456.xyz"}}', "abcdef123456"),
    ("db at https://admin:p4ss/w0rd@db.internal/x", "p4ss"),
    ("postgres://svc:ab/cd/ef@10.0.0.5:5432/app", "ab/cd"),
    (PEM, "MIIEvQIBADANBgkq"),
    (PEM.replace("\n", "\\n"), "MIIEvQIBADANBgkq"),  # inside JSON text
    (PEM.split("-----END")[0], "MIIEvQIBADANBgkq"),  # the END marker already cut off
])
def test_new_kinds_are_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out, out
    assert "<" in out


@pytest.mark.parametrize("text", [
    "flight HAT001 departs 2024-05-15 10:30, seat 12A, reservation 4WQ150, total $1,234.56",
    "booking ZFA04Y, order #W2378156, item ids 1008292230 and 6454334990, amount 2024.50",
    "dates 2024-05-15/2024-05-17, times 10:30-12:45, 3 passengers, gate B12",
    "user mia_li_3668 paid 415.00 then 555.00; trace 0199 of 4155",
    "ticket 123 456 7890 is not checked",  # 3-3-4 digits but not a valid phone (area code 123)
    "https://example.com:443/users/@alice",
    "a cookie banner said: accept all",
])
def test_ids_prices_and_dates_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_a_card_at_the_end_of_a_sentence_is_redacted_and_decimals_are_not_cards() -> None:
    assert redact(f"Pay with {VISA}.") == "Pay with <CARD>."  # reached the model before the fix
    assert redact(f"({VISA})") == "(<CARD>)"
    for number in ("4111111111111111.5", "0.4111111111111111"):
        assert redact(number) == number


def test_a_key_split_across_two_messages_is_redacted_in_both() -> None:
    key = "sk-proj-AbCdEf0123456789GhIjKlMn"
    messages = [{"role": "user", "content": f"first half: {key[:14]}"},
                {"role": "user", "content": f"{key[14:]} is the second half"}]
    out = redact_messages(messages)
    joined = " ".join(str(m["content"]) for m in out)
    assert key[:14] not in joined and key[14:] not in joined, joined
    assert "is the second half" in joined and "first half" in joined


def test_secret_keys_in_structured_arguments_are_redacted_by_key() -> None:
    messages = [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                 "function": {"name": "login", "arguments": {"user": "bob", "password": "hunter2"}}}]}]
    out = redact_messages(messages)
    assert "hunter2" not in json.dumps(out)
    assert "bob" in json.dumps(out)


def test_long_pem_in_a_trace_result_is_redacted_before_clipping() -> None:
    from clawloop_synth.generate.views import failure_steps
    from clawloop_synth.types import Failure, Message, ToolCall, Trace

    trace = Trace(id="t1", source="openai_chat", messages=[
        Message(role="user", content="read the key"),
        Message(role="assistant", content=None, tool_calls=[ToolCall(id="c1", name="read_file",
                                                                     arguments={"path": "id_rsa"})]),
        Message(role="tool", tool_call_id="c1", name="read_file", content=PEM),
    ])
    failure = Failure(id="f1", trace_id="t1", step=2, code="x/y/z", signal="error_result", card="c")
    steps = failure_steps(failure, trace)
    assert steps and all("MIIEvQIBADANBgkq" not in s for s in steps), steps
    assert any("<PRIVATE_KEY>" in s for s in steps)


NEW_PLANTED = {
    AWS_SECRET: f"aws_secret_access_key = {AWS_SECRET}",
    JWT: f"the session token {JWT}",
    "415 555 0199": "call me on 415 555 0199",
    "4155550123": "my phone is 4155550123",
    "9f8e7d6c5b4a3f2e1d0c": "Cookie: sessionid=9f8e7d6c5b4a3f2e1d0c; theme=dark",
    "p4ss": "db https://admin:p4ss/w0rd@db.internal/x",
    "MIIEvQIBADANBgkq": PEM,
}


def test_no_planted_secret_reaches_the_server_or_the_cache_and_kinds_are_counted(
        fake_openai: FakeOpenAI, tmp_path: object) -> None:
    from pathlib import Path

    cache = Path(str(tmp_path)) / "llm-cache"
    fake_openai.script(ok({"summary": "done"}))
    key = "sk-proj-AbCdEf0123456789GhIjKlMn"
    messages = trace_prompt() + [{"role": "user", "content": text} for text in NEW_PLANTED.values()]
    messages += [{"role": "user", "content": f"key part one {key[:14]}"},
                 {"role": "user", "content": f"{key[14:]} is part two"}]
    llm = LLM(LLMConfig("openai/fake", api_base=fake_openai.base_url, api_key="k", cache_dir=cache))
    llm.structured(messages, Summary, stage="label")
    received = json.dumps(fake_openai.requests[0])
    cached = "".join(p.read_text() for p in cache.rglob("*") if p.is_file())
    assert cached, "nothing was cached"
    for secret in [*PLANTED, *NEW_PLANTED, key[:14], key[14:]]:
        assert secret not in received, secret
        assert secret not in cached, secret
    counts = llm.usage_summary()["stages"]["label"]["redacted"]
    assert {"PRIVATE_KEY", "JWT", "PHONE", "COOKIE", "PASSWORD", "SECRET", "API_KEY", "EMAIL", "CARD"} <= set(counts)
    assert llm.usage_summary()["total"]["redacted"] == counts
