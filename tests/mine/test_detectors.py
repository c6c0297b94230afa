from clawloop_synth.mine.context import build_context
from clawloop_synth.mine.localize import localize
from clawloop_synth.mine.miner import mine_trace
from clawloop_synth.types import GoldAction, Message, ToolSpec

from .helpers import BOOK_SCHEMA, GET_SCHEMA, call, result, trace


def codes(failures):  # type: ignore[no-untyped-def]
    return [(f.code, f.step) for f in failures]


def test_error_result_is_located_at_the_result_and_blames_the_caller() -> None:
    t = trace([call("book", 1, flight="F1", seats=1), result("book", 1, "Error: not enough seats on flight F1", True),
               Message(role="assistant", content="Sorry, it is full.")])
    found = mine_trace(t, build_context([t]))
    assert codes(found) == [("agent/action/unavailable_resource", 2)]
    assert found[0].agent == "assistant" and found[0].tool == "book" and found[0].id == "t1#0"


def test_schema_violations_and_unknown_tools() -> None:
    t = trace([call("book", 1, flight=7), result("book", 1, "ok"), call("fly_me", 2), result("fly_me", 2, "?")],
              tools=[BOOK_SCHEMA, GET_SCHEMA])
    found = mine_trace(t, build_context([t]))
    got = {(f.code, f.detail) for f in found}
    assert ("agent/action/invalid_argument_format", "book.flight") in got
    assert ("agent/action/missing_required_argument", "book.seats") in got
    assert ("agent/action/nonexistent_tool", "no tool named fly_me") in got


def test_pack_tools_give_schemas_and_write_flags() -> None:
    pack = [ToolSpec(name="book", description="", parameters=BOOK_SCHEMA["function"]["parameters"], handler="",
                     writes=True)]
    t = trace([call("book", 1, flight="F1")])
    ctx = build_context([t], pack_tools=pack)
    assert ctx.writes == {"book"} and "book" in ctx.schemas


def test_repeats_count_but_a_retry_after_a_transient_error_does_not() -> None:
    t = trace([call("get_flight", 1, flight="F1"), result("get_flight", 1, "503 service unavailable", True),
               call("get_flight", 2, flight="F1"), result("get_flight", 2, "{}"),
               call("book", 3, flight="F1", seats=1), result("book", 3, "Error: flight F1 is not available", True),
               call("book", 4, flight="F1", seats=1), result("book", 4, "Error: flight F1 is not available", True)],
              reward=1.0)
    found = mine_trace(t, build_context([t]))
    # The transient error was retried with success: not a failure; the blind repeat of a failed book is.
    assert codes(found) == [("agent/action/unavailable_resource", 6), ("agent/planning/step_repetition", 7),
                            ("agent/action/unavailable_resource", 8)]


def test_gold_diff_names_missing_extra_and_wrong_arguments() -> None:
    gold = [GoldAction(name="book", arguments={"flight": "F1", "seats": 2, "pay": [{"id": "c1", "amount": 10}]}),
            GoldAction(name="cancel", arguments={"id": "R1"}),
            GoldAction(name="get_flight", arguments={"flight": "F1"})]
    t = trace([call("get_flight", 1, flight="F9"), result("get_flight", 1, "{}"),
               call("book", 2, flight="F1", seats=2.0, pay=[{"id": "c2", "amount": 10}]), result("book", 2, "{}"),
               call("refund", 3, id="R1"), result("refund", 3, "{}"),
               Message(role="assistant", content="Done.")], gold=gold)
    other = trace([call("refund", 1, id="R0")], gold=[GoldAction(name="refund", arguments={"id": "R0"})],
                  trace_id="t2")
    ctx = build_context([t, other])
    assert ctx.writes == {"book", "cancel", "refund"}  # get_flight starts with a read verb
    found = [f for f in mine_trace(t, ctx) if f.signal == "gold_diff"]
    got = {(f.code, f.detail, f.step) for f in found}
    assert got == {("agent/action/wrong_argument", "book.pay", 3), ("agent/action/missing_action", "missing cancel", 7),
                   ("agent/action/extra_action", "extra refund", 5)}


def test_handoff_and_premature_finish_need_a_solvable_task() -> None:
    gold = [GoldAction(name="cancel", arguments={"id": "R1"})]
    handoff = trace([call("transfer_to_human_agents", 1, summary="x"), result("transfer_to_human_agents", 1, "ok")],
                    gold=gold, trace_id="h")
    quit_ = trace([Message(role="assistant", content="Have a nice day.")], gold=gold, trace_id="q")
    ctx = build_context([handoff, quit_])
    assert "agent/planning/unnecessary_handoff" in [f.code for f in mine_trace(handoff, ctx)]
    assert [f.code for f in mine_trace(quit_, ctx)] == ["agent/action/missing_action",
                                                        "agent/planning/premature_termination"]
    not_solvable = trace([call("transfer_to_human_agents", 1)], gold=[GoldAction(name="transfer_to_human_agents")])
    assert "agent/planning/unnecessary_handoff" not in [f.code for f in mine_trace(not_solvable, build_context([]))]


def test_outcome_detectors_missing_retry_ignored_error_claims_and_ungrounded_ids() -> None:
    tools = [BOOK_SCHEMA, GET_SCHEMA]
    no_retry = trace([call("get_flight", 1, flight="F1"), result("get_flight", 1, "Error: request timed out", True),
                      Message(role="assistant", content="Sorry, try later.")], tools=tools)
    ignored = trace([call("book", 1, flight="F1", seats=1), result("book", 1, "Error: flight F1 is sold out", True),
                     Message(role="assistant", content="You're booked on F1.")], tools=tools)
    claimed = trace([call("get_flight", 1, flight="F1"), result("get_flight", 1, '{"flight": "F1"}'),
                     Message(role="assistant", content="I've booked F1 for you, confirmation BK-99.")], tools=tools)
    ctx = build_context([no_retry, ignored, claimed])
    assert ctx.writes == {"book"}
    assert ("agent/planning/missing_retry", 2) in codes(mine_trace(no_retry, ctx))
    assert ("agent/verification/ignored_error", 2) in codes(mine_trace(ignored, ctx))
    got = codes(mine_trace(claimed, ctx))
    assert ("agent/planning/premature_termination", 3) in got and ("agent/reasoning/wrong_information", 3) in got


def test_unexplained_fallback_and_success_is_quiet() -> None:
    failed = trace([Message(role="assistant", content="Here you go.")], reward=0.0)
    fine = trace([Message(role="assistant", content="Here you go.")], reward=1.0)
    ctx = build_context([failed, fine])
    assert codes(mine_trace(failed, ctx)) == [("agent/outcome/unexplained", 1)]
    assert mine_trace(fine, ctx) == []


def test_missing_outputs_and_localize_picks_the_earliest_explained() -> None:
    t = trace([call("book", 1, flight="F1", seats=1), result("book", 1, "Error: gift card balance is not enough", True),
               Message(role="assistant", content="All set.")], gold_outputs=["1,203"])
    found = mine_trace(t, build_context([t]))
    assert "agent/reasoning/missing_output" in [f.code for f in found]
    where = localize(t, found)
    assert where is not None and where.step == 2 and where.code in (
        "agent/verification/ignored_error", "agent/action/insufficient_balance")
    assert localize(t, []) is None


def test_multi_agent_text_signals() -> None:
    msgs = [Message(role="assistant", name="Orchestrator", content="Plan: ask WebSurfer."),
            Message(role="assistant", name="WebSurfer", content="I clicked a link. The page shows a 404 error."),
            Message(role="assistant", name="Orchestrator",
                    content='{"is_progress_being_made": {"reason": "no", "answer": false}}'),
            Message(role="assistant", name="WebSurfer", content="Found it.")]
    t = trace(msgs)
    found = mine_trace(t, build_context([t]))
    assert ("agent/action/tool_failure_reported", 2) in codes(found)
    assert ("agent/planning/stalled_progress", 2) in codes(found)
    where = localize(t, found)
    assert where is not None and where.agent == "WebSurfer" and where.step == 2
