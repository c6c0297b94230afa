"""The airline kit's request kinds: every kind builds, no reference breaks an airline rule, a refusal's
request is one a rule forbids and its failure exemplar complies."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.generate.base import GenerationRequest, Verdict
from clawloop_synth.generate.graph import build_graph
from clawloop_synth.generate.procedural import ProceduralGenerator
from clawloop_synth.generate.procedural.airline import compose
from clawloop_synth.generate.procedural.airline_asks import NO_WRITE_KINDS
from clawloop_synth.generate.procedural.airline_kinds import WRITE_KINDS
from clawloop_synth.generate.procedural.airline_parts import Part, Shop
from clawloop_synth.generate.procedural.base import BaseTask, KitContext, base_from_scenario, scratch_task
from clawloop_synth.sim import SimEnv, verify
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.sim.rules import RuleSet, pack_rules
from clawloop_synth.types import FailureCluster

KINDS = {**WRITE_KINDS, **NO_WRITE_KINDS}


@cache
def _world(db: str) -> tuple[Any, Any, Shop]:
    pack = load_pack("airline", Path(db))
    state = pack.load_state()
    return pack, state, Shop(state, RuleSet(pack_rules(pack)))


def _base(db: Path, kind: str) -> BaseTask:
    pack, state, shop = _world(str(db))
    ctx = KitContext(pack, state, build_graph([], pack.write_tools))
    rng = random.Random(f"kinds:{kind}")
    users = sorted(state["users"])
    reasons = []
    for _ in range(120):
        user_id = rng.choice(users)
        part = KINDS[kind](shop, rng, user_id)
        if not isinstance(part, Part):
            continue
        scenario = compose(shop, rng, user_id, [part])
        assert not isinstance(scenario, str)
        base = base_from_scenario(ctx, scenario, 2, seed=user_id)
        if isinstance(base, BaseTask):
            return base
        reasons.append(base)
    raise AssertionError(f"{kind}: no base task in 120 draws: {reasons[:5]}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_builds_a_reference_that_keeps_the_rules(kind: str, airline_db: Path) -> None:
    pack = _world(str(airline_db))[0]
    base = _base(airline_db, kind)
    rules = pack_rules(pack)
    env = SimEnv(scratch_task(base.tools, base.state, rules=rules))
    results = [env.step(call) for call in base.calls]
    assert not any(r.is_error for r in results) and env.violations == []
    writes = [c for c in base.calls if c.name in pack.write_tools]
    assert bool(writes) == (kind in WRITE_KINDS)
    assert base.outputs and base.kind == kind
    if base.forbidden is not None:  # refusals and the transfer: a rule forbids what the user asked for
        assert RuleSet(rules).check(env.state, base.forbidden.name, base.forbidden.arguments, 0)
    if kind == "transfer":
        assert base.calls[-1].name == "transfer_to_human_agents"
    if kind == "book one-stop":
        assert base.calls[0].name == "search_onestop_flight" and len(writes[0].arguments["flights"]) == 2


def _accept(task: Any) -> Verdict:
    return Verdict(True, "", "")


def test_tasks_for_the_extra_action_code_are_refusals_whose_exemplar_complies(
        airline_db: Path, airline_trajectories: Path) -> None:
    from clawloop_synth.ingest import iter_traces

    pack, state, _ = _world(str(airline_db))
    traces = list(iter_traces([airline_trajectories]))
    cluster = FailureCluster(id="c0", label="extra action", codes=["agent/action/extra_action"], size=1,
                             member_ids=[], exemplar_ids=[])
    request = GenerationRequest(cluster=cluster, exemplars=[], domain="airline", pack=pack, state=state, count=2,
                                seed=0, id_prefix="t", target_code="agent/action/extra_action", traces=traces)
    tasks = [c.task for c in ProceduralGenerator().propose(request, _accept) if c.task is not None]
    assert len(tasks) == 2
    for task in tasks:
        assert task.kind is not None and task.kind.startswith(("refusal", "transfer"))
        assert task.rules and not [c for c in task.reference.calls if c.name in pack.write_tools]
        report = verify(task)
        assert report.ok, report.failed()
        assert task.failure_exemplar is not None
        env = SimEnv(task)
        for call in task.failure_exemplar.calls:
            env.step(call)
        assert env.violations  # the exemplar does what the policy forbids


def test_generated_keys_are_the_entities_a_call_created() -> None:
    from clawloop_synth.generate.procedural.base import generated_keys

    before = {"reservations": {"ABC123": {}}, "users": {"u1": {}}, "meta": [1]}
    after = {"reservations": {"ABC123": {}, "HATHAT": {}}, "users": {"u1": {}}, "meta": [1, 2], "log": {"e1": {}}}
    assert generated_keys(before, after) == {"HATHAT", "e1"}


def test_a_booking_does_not_require_the_id_the_simulator_generates(airline_db: Path) -> None:
    base = _base(airline_db, "book")
    booked = next(c for c in base.calls if c.name == "book_reservation")
    assert booked is not None
    # The answer names the new reservation, but the check does not ask for it (it is "HATHAT" every time).
    assert "HATHAT" in base.answer and "HATHAT" not in base.outputs and base.outputs
