"""The procedural generator: every injector targets its leaf, runs are seeded, odd domains do not crash."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest

from clawloop_synth.generate.base import GenerationRequest, Verdict
from clawloop_synth.generate.gate import mined_codes
from clawloop_synth.generate.procedural import (
    INJECTORS,
    BaseTask,
    ProceduralGenerator,
    inject,
)
from clawloop_synth.generate.procedural.demo import base_of
from clawloop_synth.generate.views import task_view
from clawloop_synth.sim.pack import DomainPack, load_pack
from clawloop_synth.sim.verify import verify
from clawloop_synth.types import Checks, FailureCluster, Provenance, TaskSpec

# Leaves whose condition the demo clinic cannot carry (its tools take no amounts, and its wallet
# error is not worded as a balance error); they are exercised on the airline pack instead.
AIRLINE_ONLY = {"agent/reasoning/calculation_error", "agent/action/insufficient_balance"}


@cache
def demo_bases() -> list[BaseTask]:
    from clawloop_synth.demo import build_demo_tasks

    return [base_of(t) for t in build_demo_tasks(40, 0) if not t.initial_state["service"]["outages"]]


def _spec(base: BaseTask, code: str, seed: int) -> TaskSpec | None:
    variant = inject(code, base, random.Random(seed))
    if variant is None:
        return None
    return TaskSpec(id=f"t-{seed}", domain="demo", instruction=variant.instruction, tools=variant.tools,
                    initial_state=variant.state, reference=variant.reference, failure_exemplar=variant.exemplar,
                    checks=Checks(required_outputs=base.outputs), target_code=code,
                    provenance=Provenance(generator="procedural"))


def _first_targeted(bases: list[BaseTask], code: str) -> TaskSpec | None:
    for seed, base in enumerate(bases):
        task = _spec(base, code, seed)
        if task is not None and verify(task).ok and code in mined_codes(task):
            return task
    return None


@pytest.mark.parametrize("code", sorted(set(INJECTORS) - AIRLINE_ONLY))
def test_each_injector_verifies_and_targets_its_leaf_on_demo(code: str) -> None:
    task = _first_targeted(demo_bases(), code)
    assert task is not None, f"no demo base task took a verified, targeted {code} condition"
    report = verify(task)
    assert report.ok, report.failed()
    assert code in mined_codes(task)


def _request(code: str, domain: str, pack: DomainPack, state: dict, count: int = 3, seed: int = 7,
             traces: list | None = None) -> GenerationRequest:
    cluster = FailureCluster(id="c00", label=code, codes=[code], size=1, member_ids=[], exemplar_ids=[])
    return GenerationRequest(cluster=cluster, target_code=code, exemplars=[], domain=domain, pack=pack,
                             state=state, traces=traces or [], count=count, seed=seed, id_prefix=f"{domain}-c00")


def _accept(task: TaskSpec) -> Verdict:
    return Verdict(True)


def test_generator_is_deterministic_under_a_seed_and_numbers_its_tasks() -> None:
    pack = load_pack("demo")
    state = pack.load_state()
    runs = []
    for _ in range(2):
        out = list(ProceduralGenerator().propose(_request("agent/action/missing_action", "demo", pack, state), _accept))
        runs.append([c.task.model_dump_json() for c in out if c.task is not None])
    assert len(runs[0]) == 3 and runs[0] == runs[1]
    other = list(ProceduralGenerator().propose(
        _request("agent/action/missing_action", "demo", pack, state, seed=8), _accept))
    assert [c.task.model_dump_json() for c in other if c.task] != runs[0]
    tasks = [TaskSpec.model_validate_json(j) for j in runs[0]]
    assert [t.id for t in tasks] == ["demo-c00-0", "demo-c00-1", "demo-c00-2"]
    for task in tasks:
        assert task.provenance.generator == "procedural" and task.provenance.seed == 7
        assert task.features.failure_codes == ["agent/action/missing_action"] and task.features.steps > 0
        assert task.target_cluster == "c00"
    assert len({task_view(t) for t in tasks}) == 3


def test_untargetable_code_and_unknown_domain_yield_a_reason() -> None:
    pack = load_pack("demo")
    out = list(ProceduralGenerator().propose(_request("agent/outcome/unexplained", "demo", pack, {}), _accept))
    assert len(out) == 1 and out[0].task is None and out[0].reason == "untargetable" and out[0].detail


def test_retail_db_goes_through_the_generic_code(shared_datasets: Path) -> None:
    from clawloop_synth.generate.graph import build_graph
    from clawloop_synth.generate.procedural.mutate import siblings

    db = shared_datasets / "tau-bench" / "retail-db"
    pack = DomainPack(name="retail", tools=[], collections=("users", "orders", "products"), db=db)
    state = pack.load_state()
    order = sorted(state["orders"])[0]
    sliced = pack.slice_state(state, [("get_order_details", {"order_id": order})], distractors=2, seed="x")
    assert order in sliced["orders"] and len(sliced["orders"]) >= 3
    assert siblings(sliced, order)  # other orders are the alternatives a mutation draws from
    assert build_graph([]).traces == 0
    out = list(ProceduralGenerator().propose(
        _request("agent/action/missing_action", "retail", pack, state), _accept))
    # No hand-written kit: the generic kit takes over, and says why a pack with no write tool gives nothing.
    assert len(out) == 1 and out[0].task is None and out[0].reason == "exhausted"
    assert "base: generic kit, the pack has no state-changing tool" in out[0].detail


@pytest.mark.parametrize("code", sorted(AIRLINE_ONLY) + ["agent/action/unavailable_resource"])
def test_airline_only_injectors_through_the_generator(code: str, airline_db: Path,
                                                      airline_trajectories: Path) -> None:
    from clawloop_synth.ingest import iter_traces

    pack = load_pack("airline", airline_db)
    state = pack.load_state()
    traces = list(iter_traces([airline_trajectories]))
    # Probed conditions are rarer on some bases: give the two tasks a generous draw budget.
    out = list(ProceduralGenerator(attempts_per_task=60).propose(
        _request(code, "airline", pack, state, count=2, traces=traces),
                                             _accept))
    tasks = [c.task for c in out if c.task is not None]
    assert len(tasks) == 2, [c.detail for c in out]
    for task in tasks:
        assert verify(task).ok
        assert code in mined_codes(task)
        assert task.provenance.source_trace_ids == [] and task.domain == "airline"


def test_the_wild_trace_leaves_misnamed_tool_and_invalid_command_are_targetable() -> None:
    from clawloop_synth.generate.procedural.injectors import targetable, untargetable_reason

    assert targetable("agent/action/misnamed_tool") and targetable("agent/action/invalid_command")
    task = _first_targeted(demo_bases(), "agent/action/misnamed_tool")
    assert task is not None and task.failure_exemplar is not None
    (wrong,) = [c.name for c in task.failure_exemplar.calls if c.name not in {t.name for t in task.tools}]
    assert wrong.replace(".", "_").replace("-", "_").lower() != wrong or wrong != wrong.lower()
    assert not targetable("agent/action/empty_result")
    assert "weak evidence" in untargetable_reason("agent/action/empty_result")
