"""Policy rules in SimEnv: judged on the state before each call, recorded, failing the run's checks."""

from __future__ import annotations

from sim_bank import make_task

from clawloop_synth.generate.gate import examine
from clawloop_synth.sim import SimEnv, verify
from clawloop_synth.sim.rules import RuleSet, rule_tools
from clawloop_synth.types import PlannedCall, PolicyRule, Solution

# Written here, so not shipped: it runs in a worker process like a user's rule.
LIMIT = PolicyRule(name="transfer_limit", source='''
tools = ["transfer"]


def check(state, call):
    balance = state["accounts"][call["arguments"]["source"]]["balance"]
    if call["arguments"]["amount"] > balance // 2:
        return "a transfer may move at most half of the balance (" + str(balance) + ")"
    return None
''')
MEDDLER = PolicyRule(name="meddler", source='''
def check(state, call):
    state["accounts"]["A1"]["balance"] = 0
    return None
''')
BROKEN = PolicyRule(name="broken", source='''
tools = ["freeze"]


def check(state, call):
    return state["no such collection"]
''')


def _call(name: str, **arguments: object) -> PlannedCall:
    return PlannedCall(name=name, arguments=dict(arguments))


def test_a_call_that_breaks_a_rule_fails_the_policy_check() -> None:
    task = make_task(rules=[LIMIT])
    env = SimEnv(task)
    env.step(_call("transfer", source="A1", target="B2", amount=1000))  # 1000 > 1500 // 2
    assert [(v.step, v.tool, v.rule) for v in env.violations] == [(0, "transfer", "transfer_limit")]
    assert "at most half of the balance (1500)" in env.violations[0].message
    env.step(_call("freeze", account_id="A1"))
    reward, checks = env.finish("Done: Bob now has 1,020.")
    policy = [c for c in checks if c.name == "policy"]
    assert reward == 0.0 and len(policy) == 1 and not policy[0].passed
    assert "call 1 (transfer) breaks transfer_limit" in policy[0].detail
    assert all(c.passed for c in checks if c.name != "policy")  # the outcome itself is right


def test_the_rule_sees_the_state_before_the_call_and_allowed_calls_pass() -> None:
    task = make_task(rules=[LIMIT], reference=Solution(calls=[
        _call("transfer", source="A1", target="B2", amount=700),   # 700 <= 750
        _call("transfer", source="A1", target="B2", amount=500),   # 500 > 800 // 2: judged on the balance left
    ], answer=""))
    env = SimEnv(task)
    for call in task.reference.calls:
        env.step(call)
    assert [v.step for v in env.violations] == [1]
    env.reset()
    assert env.violations == []
    env.step(_call("transfer", source="A1", target="B2", amount=10))
    reward, checks = env.finish("")
    assert next(c for c in checks if c.name == "policy").passed


def test_a_call_the_api_refused_is_not_counted() -> None:
    env = SimEnv(make_task(rules=[LIMIT]))
    result = env.step(_call("transfer", source="C3", target="B2", amount=5))  # C3 has 0: insufficient funds
    assert result.is_error and env.violations == []


def test_no_rules_no_policy_check() -> None:
    env = SimEnv(make_task())
    env.step(_call("transfer", source="A1", target="B2", amount=1000))
    _, checks = env.finish("")
    assert all(c.name != "policy" for c in checks)


def test_an_unshipped_rule_runs_isolated_and_cannot_change_the_episode() -> None:
    rules = RuleSet([MEDDLER])
    assert rules._rules[0].handler is not None and rules._rules[0].handler.isolated
    env = SimEnv(make_task(rules=[MEDDLER]))
    env.step(_call("get_account", account_id="A1"))
    assert env.state["accounts"]["A1"]["balance"] == 1500 and env.violations == []


def test_a_rule_that_crashes_is_a_violation_that_says_so() -> None:
    env = SimEnv(make_task(rules=[BROKEN]))
    env.step(_call("freeze", account_id="A1"))
    assert len(env.violations) == 1 and "could not run" in env.violations[0].message


def test_a_rule_that_fails_the_sandbox_is_reported_on_each_call_it_judges() -> None:
    bad = PolicyRule(name="bad", source="import os\ndef check(state, call):\n    return None\n")
    env = SimEnv(make_task(rules=[bad]))
    env.step(_call("get_account", account_id="A1"))
    assert "does not compile" in env.violations[0].message


def test_tools_literal_is_read_without_running_the_source() -> None:
    assert rule_tools(LIMIT.source) == frozenset({"transfer"})
    assert rule_tools(MEDDLER.source) is None
    assert rule_tools("tools = [open('x')]\n") is None


def test_verify_and_the_gate_reject_a_reference_that_breaks_a_rule_but_not_an_exemplar_that_does() -> None:
    task = make_task(rules=[LIMIT])  # the reference moves 1000 of 1500
    report = verify(task)
    policy = next(r for r in report.rules if r.rule == "reference_follows_policy")
    assert not policy.passed and "transfer_limit" in policy.detail
    verdict = examine(task, None)
    assert not verdict.accepted and verdict.reason == "verify:reference_follows_policy"
    fine = make_task(rules=[LIMIT], failure_exemplar=Solution(calls=[
        _call("get_account", account_id="A1"), _call("transfer", source="A1", target="B2", amount=1400),
        _call("freeze", account_id="A1")], answer="Done: Bob now has 1,420."))
    fine.reference.calls[1].arguments["amount"] = 700
    fine.reference.answer = "Done: Bob now has 720."
    fine.checks.required_outputs = ["720"] if fine.checks.required_outputs else []
    report = verify(fine)
    assert next(r for r in report.rules if r.rule == "reference_follows_policy").passed
    assert next(r for r in report.rules if r.rule == "exemplar_fails").passed
