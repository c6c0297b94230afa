"""LLM-drafted policy rules over real HTTP against the scripted local server: a draft that a successful
trace breaks is dropped, one that only failed traces break is kept, one that does not compile is re-asked."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.generate.rules_draft import draft_messages, draft_rules, judge_rules, write_rules
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.types import Message, PolicyRule, ToolCall, Trace
from tests.fake_openai import FakeOpenAI, ok

NO_CANCEL = ('tools = ["cancel_reservation"]\n\ndef check(state, call):\n'
             '    return "no cancellations at all"\n')
NOT_TWICE = ('tools = ["cancel_reservation"]\n\ndef check(state, call):\n'
             '    res = state.get("reservations", {}).get(call["arguments"].get("reservation_id"))\n'
             '    if isinstance(res, dict) and res.get("status") == "cancelled":\n'
             '        return "already cancelled"\n    return None\n')
BROKEN = "def check(state, call):\n    import os\n    return None\n"


def _trace(tid: str, reward: float, rids: list[str]) -> Trace:
    messages = [Message(role="user", content="cancel please")]
    for n, rid in enumerate(rids):
        call = ToolCall(id=f"{tid}-{n}", name="cancel_reservation", arguments={"reservation_id": rid})
        messages += [Message(role="assistant", content=None, tool_calls=[call]),
                     Message(role="tool", content="{}", name="cancel_reservation", tool_call_id=call.id)]
    return Trace(id=tid, source="openai_chat", messages=messages, reward=reward)


def _state(tmp_path: Path) -> Path:
    import json

    db = tmp_path / "db"
    db.mkdir()
    res = {"R1": {"reservation_id": "R1", "user_id": "u", "status": None, "flights": [], "passengers": [],
                  "payment_history": [], "cabin": "economy", "created_at": "2024-05-14T10:00:00"}}
    (db / "reservations.json").write_text(json.dumps(res))
    (db / "users.json").write_text(json.dumps({"u": {"payment_methods": {}, "reservations": ["R1"]}}))
    (db / "flights.json").write_text("{}")
    return db


def test_drafted_rules_are_kept_only_where_no_successful_trace_breaks_them(tmp_path: Path) -> None:
    pack = load_pack("airline", _state(tmp_path))
    traces = [_trace("ok", 1.0, ["R1"]), _trace("bad", 0.0, ["R1", "R1"])]
    text = draft_messages(pack)[0]["content"]
    assert "cancel_reservation [changes the state]" in text and "reservations" in text
    with FakeOpenAI() as server:
        # a draft that does not compile is re-asked with the sandbox's complaint
        server.script(ok({"rules": [{"name": "bad", "source": BROKEN}]}),
                      ok({"rules": [{"name": "no_cancel", "source": NO_CANCEL},
                                    {"name": "not_twice", "source": NOT_TWICE}]}))
        report = draft_rules(pack, traces, "openai/fake", api_base=server.base_url, api_key="sk-test",
                             retry_wait=0.01)
        assert server.count == 2
        assert any("sandbox" in (m.get("content") or "") for m in server.requests[-1]["messages"])
    verdicts = {v.rule.name: v for v in report.verdicts}
    assert not verdicts["no_cancel"].kept and "successful trace ok" in verdicts["no_cancel"].reason
    assert verdicts["not_twice"].kept and verdicts["not_twice"].flagged_failed == 1
    assert [r.name for r in report.kept] == ["not_twice"]
    written = write_rules(report.kept, tmp_path / "rules")
    assert [p.name for p in written] == ["not_twice.py"] and "already cancelled" in written[0].read_text()


def test_a_rule_that_does_not_compile_is_judged_not_kept(tmp_path: Path) -> None:
    pack = load_pack("airline", _state(tmp_path))
    (verdict,) = judge_rules(pack, [PolicyRule(name="bad", source=BROKEN)], [])
    assert not verdict.kept and "compile" in verdict.reason


def test_pack_rules_command_over_http(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from clawloop_synth.cli import app

    traces = tmp_path / "traces.jsonl"
    with traces.open("w") as f:
        for trace in (_trace("ok", 1.0, ["R1"]), _trace("bad", 0.0, ["R1", "R1"])):
            f.write(json.dumps(trace.model_dump(mode="json")) + "\n")
    with FakeOpenAI(ok({"rules": [{"name": "no_cancel", "source": NO_CANCEL},
                                  {"name": "not_twice", "source": NOT_TWICE}]})) as server:
        result = CliRunner().invoke(app, ["pack", "rules", "airline", "--db", str(_state(tmp_path)), "-i", str(traces),
                                          "--model", "openai/fake", "--api-base", server.base_url,
                                          "-o", str(tmp_path / "kept")])
    assert result.exit_code == 0, result.output
    assert "no_cancel: dropped: successful trace ok" in result.output and "1 of 2 drafted rules kept" in result.output
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["not_twice.py"]
