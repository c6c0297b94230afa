"""Mining without gold: contrast with successful runs, error evidence in results of any domain."""

from __future__ import annotations

from clawloop_synth.mine.context import build_context
from clawloop_synth.mine.evidence import error_kind
from clawloop_synth.mine.localize import localize
from clawloop_synth.mine.miner import mine_trace
from clawloop_synth.types import Message, Trace

from .helpers import call, result, trace


def _run(task: str, tid: str, reward: float, user: str, *steps: Message) -> Trace:
    t = trace([*steps, Message(role="assistant", content="All set.")], reward=reward, trace_id=tid, task_id=task)
    return t.model_copy(update={"messages": [Message(role="user", content=user), *t.messages[1:]]})


def _found(t: Trace, *others: Trace) -> list[tuple[str, str]]:
    ctx = build_context([t, *others])
    return [(f.code, f.detail) for f in mine_trace(t, ctx) if f.signal == "contrast"]


def test_a_failed_run_is_diffed_against_a_success_of_the_same_task() -> None:
    ask = "Book flight F1 for me, pay with my gift card."
    good = _run("T", "ok", 1.0, ask, call("get_flight", 1, flight="F1"), result("get_flight", 1, "{}"),
                call("book", 2, flight="F1", pay="gift_1"), result("book", 2, "booked"))
    bad = _run("T", "bad", 0.0, ask, call("get_flight", 1, flight="F1"), result("get_flight", 1, "{}"),
               call("book", 2, flight="F1", pay="card_9"), result("book", 2, "booked"))
    idle = _run("T", "idle", 0.0, ask, call("get_flight", 1, flight="F1"), result("get_flight", 1, "{}"))
    assert _found(bad, good) == [("agent/action/wrong_argument", "book.pay (vs successful run ok)")]
    assert _found(idle, good) == [("agent/action/missing_action", "missing book (vs successful run ok)")]
    assert _found(good, bad) == []  # successes are not mined for contrast


def test_without_a_same_task_success_the_most_alike_request_is_the_reference() -> None:
    cancel = _run("A", "cancel-ok", 1.0, "Please cancel my reservation R1, my trip is off.",
                  call("cancel", 1, reservation="R1"), result("cancel", 1, "cancelled"))
    book = _run("B", "book-ok", 1.0, "I would like to book a new flight to Paris tomorrow.",
                call("book", 1, flight="F7"), result("book", 1, "booked"))
    failed = _run("C", "cancel-bad", 0.0, "Please cancel my reservation R2, my trip is off.",
                  call("get_res", 1, reservation="R2"), result("get_res", 1, "{}"))
    assert _found(failed, cancel, book) == [
        ("agent/action/missing_action", "missing cancel (vs similar runs cancel-ok)")]
    wrong = _run("D", "cancel-wrong", 0.0, "Please cancel my reservation R3, my trip is off.",
                 call("cancel", 1, reservation="R9"), result("cancel", 1, "cancelled"))
    assert _found(wrong, cancel, book) == [
        ("agent/action/wrong_argument", "cancel arguments (vs similar runs cancel-ok)")]
    extra = _run("E", "cancel-extra", 0.0, "Please cancel my reservation R4, my trip is off.",
                 call("cancel", 1, reservation="R4"), result("cancel", 1, "cancelled"),
                 call("book", 2, flight="F1"), result("book", 2, "booked"))
    assert ("agent/action/extra_action", "extra book (vs similar runs cancel-ok)") in _found(extra, cancel, book)


def test_without_any_success_of_the_task_its_other_attempts_agree_on_the_change() -> None:
    ask = "Please cancel my reservation R1."

    def attempt(tid: str, *steps: Message) -> Trace:
        return _run("T", tid, 0.0, ask, call("get_res", 1, reservation="R1"), result("get_res", 1, "{}"), *steps)

    right = [attempt(f"a{i}", call("cancel", 2, reservation="R1"), result("cancel", 2, "cancelled"))
             for i in range(2)]
    wrong = attempt("wrong", call("cancel", 2, reservation="R7"), result("cancel", 2, "cancelled"))
    extra = attempt("extra", call("cancel", 2, reservation="R1"), result("cancel", 2, "cancelled"),
                    call("book", 3, flight="F1"), result("book", 3, "booked"))
    idle = attempt("idle")
    unrelated = _run("U", "u-ok", 1.0, "Book me a flight to Rome.", call("book", 1, flight="F2"),
                     result("book", 1, "booked"))
    runs = [*right, wrong, extra, idle, unrelated]
    against = "(vs 4 other attempts at the task)"
    assert _found(wrong, *runs) == [("agent/action/wrong_argument", f"cancel.reservation {against}")]
    assert _found(extra, *runs) == [("agent/action/extra_action", f"extra book {against}")]
    assert _found(idle, *runs) == [("agent/action/missing_action", f"missing cancel {against}")]
    # One other attempt is no consensus: the run is left to the similar successful runs of other tasks.
    assert not any("attempts" in detail for _, detail in _found(wrong, right[0], unrelated))


def test_a_failed_run_that_changed_nothing_is_weak_evidence() -> None:
    book = _run("B", "book-ok", 1.0, "Book a flight to Paris.", call("get_res", 1, reservation="R1"),
                result("get_res", 1, '{"id": "R1"}'), call("book", 2, flight="F7"), result("book", 2, "ok"))
    idle = _run("Z", "idle", 0.0, "zzz qqq", call("get_res", 1, reservation="R2"), result("get_res", 1, "[]"))
    ctx = build_context([idle, book])
    ctx.contrast_min_similarity = 0.9  # nothing alike to contrast with
    found = mine_trace(idle, ctx)
    assert {f.signal for f in found} == {"no_change", "empty_result"}  # weak, but better than unexplained
    decisive = localize(idle, found)
    assert decisive is not None and decisive.code == "agent/action/missing_action"
    # Beside a real cause, weak evidence is left out (it would only be noise in the clusters).
    failing = _run("Z", "failing", 0.0, "zzz qqq", call("get_res", 1, reservation="R2"), result("get_res", 1, "[]"),
                   call("get_res", 2, reservation="R3"),
                   result("get_res", 2, "Error: service temporarily unavailable", True))
    found = mine_trace(failing, build_context([failing, book]))
    assert [f.signal for f in found] == ["error_result", "no_retry"]


def test_error_kinds_in_results_of_any_domain() -> None:
    assert error_kind("<returncode>2</returncode>\nls: cannot access 'x'") == "exit_code"
    assert error_kind("<returncode>0</returncode>\nfile.txt") is None
    assert error_kind("Process exited with code 1") == "exit_code"
    assert error_kind('Traceback (most recent call last):\n  File "a.py"\nKeyError: 3') == "exception"
    assert error_kind("ValueError: bad literal") == "exception"
    assert error_kind("[]") == "empty" and error_kind("  ") == "empty"
    assert error_kind('{"rows": [1, 2]}') is None


def test_the_agents_wrong_command_is_told_apart_from_the_tools_own_error() -> None:
    t = trace([call("bash", 1, command="cat notes/todo.md"),
               result("bash", 1, "<returncode>1</returncode>\ncat: notes/todo.md: No such file or directory"),
               call("bash", 2, command="python reproduce.py"),
               result("bash", 2, 'Traceback (most recent call last):\n  File "reproduce.py", line 3\nKeyError: 1'),
               call("search", 3, query="weather"), result("search", 3, "Error: upstream returned garbage", True),
               call("search", 4, query="rain"), result("search", 4, "[]")])
    found = {(f.code, f.tool, f.signal) for f in mine_trace(t, build_context([t]))}
    assert ("agent/action/invalid_command", "bash", "result_evidence") in found
    assert sum(1 for code, tool, _ in found if tool == "bash" and code == "agent/action/invalid_command") >= 1
    assert ("environment/tool/unknown", "search", "error_result") in found  # the tool's own error
    assert not [f for f in found if f[2] == "empty_result"]  # weak evidence beside real causes is left out
    bash = [f for f in mine_trace(t, build_context([t])) if f.tool == "bash"]
    assert [f.code for f in bash] == ["agent/action/invalid_command", "agent/action/invalid_command"]
