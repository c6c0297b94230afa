"""``ProceduralGenerator``: the offline generator (no model), deterministic for a given request.

For one cluster's target leaf: draw base tasks from the domain's kit, inject the leaf's failure
condition, and keep the candidates that pass ``verify`` and whose exemplar, mined, shows the leaf
(the same rules as the gate, checked here so that the stage receives few rejects). A leaf with no
injector, or a domain with no kit, yields one candidate with ``task=None`` and the reason.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

from clawloop_synth.generate.base import Candidate, GenerationRequest, Judge
from clawloop_synth.generate.gate import mine_context, mined_codes, verified
from clawloop_synth.generate.graph import build_graph
from clawloop_synth.generate.procedural.base import BaseTask, DomainKit, KitContext
from clawloop_synth.generate.procedural.injectors import Variant, inject, targetable, untargetable_reason
from clawloop_synth.sim.rules import pack_rules
from clawloop_synth.types import Checks, Provenance, TaskFeatures, TaskSpec

__all__ = ["ProceduralGenerator", "kit_for", "register_kit"]

_ATTEMPTS_PER_TASK = 12
_KITS: dict[str, type] = {}


def register_kit(domain: str, kit: type) -> None:
    """Make ``kit()`` the base-task source of ``domain``."""
    _KITS[domain] = kit


def kit_for(domain: str) -> DomainKit:
    """The hand-written kit of ``domain`` when there is one, else the generic kit that works in any pack."""
    if not _KITS:
        from clawloop_synth.generate.procedural.airline import AirlineKit
        from clawloop_synth.generate.procedural.demo import DemoKit

        _KITS.setdefault("airline", AirlineKit)
        _KITS.setdefault("demo", DemoKit)
    kit = _KITS.get(domain)
    if kit is None:
        from clawloop_synth.generate.procedural.generic import GenericKit

        return GenericKit()
    return kit()


def _task(request: GenerationRequest, n: int, base: BaseTask, variant: Variant, sources: list[str]) -> TaskSpec:
    calls = variant.reference.calls
    return TaskSpec(
        id=f"{request.id_prefix}-{n}", domain=request.domain, instruction=variant.instruction,
        policy=getattr(request.pack, "policy", "") or "",
        user_persona=base.persona, tools=variant.tools, initial_state=variant.state, reference=variant.reference,
        failure_exemplar=variant.exemplar, checks=Checks(outcome=True, required_outputs=list(base.outputs)),
        target_cluster=request.cluster.id, target_code=request.target_code,
        provenance=Provenance(generator="procedural", prompt_version=f"{base.kind}: {variant.note}"[:200],
                              source_trace_ids=sources, seed=request.seed),
        features=TaskFeatures(steps=len(calls), tools=len({c.name for c in calls}),
                              writes=sum(c.name in base.writes for c in calls), distractors=base.distractors,
                              failure_codes=[request.target_code]),
        kind=base.kind, constraints=list(base.constraints), rules=pack_rules(request.pack),
    )


class ProceduralGenerator:
    """Offline, seeded generation from a domain kit and the failure injectors."""

    name = "procedural"
    proposes_alone = True  # never calls the judge: a cluster's proposals can run on an engine's worker

    def __init__(self, attempts_per_task: int = _ATTEMPTS_PER_TASK) -> None:
        self.attempts_per_task = attempts_per_task
        self.stats: Counter[str] = Counter()  # why draws were dropped, over every request

    def propose(self, request: GenerationRequest, judge: Judge) -> Iterator[Candidate]:
        """Yield up to ``request.count`` self-checked candidates, then a note if fewer were found."""
        code = request.target_code
        if not targetable(code):
            yield Candidate(task=None, reason="untargetable", detail=untargetable_reason(code))
            return
        kit = kit_for(request.domain)
        writes = request.pack.write_tools if request.pack is not None else frozenset()
        graph = build_graph(request.traces, writes)
        sources = list(dict.fromkeys(f.trace_id for f in request.exemplars))[:5]
        ctx = KitContext(request.pack, request.state, graph, sources, list(request.traces), target_code=code)
        rng = random.Random(f"procedural:{request.seed}:{request.cluster.id}:{code}")
        mine_ctx = mine_context(request.pack.tools)
        bases = kit.base_tasks(ctx, rng)
        dropped: Counter[str] = Counter()
        seen: set[str] = set()
        made = 0
        for _ in range(max(1, request.count) * self.attempts_per_task):
            if made >= request.count:
                break
            base = next(bases, None)
            if base is None:
                break
            why = self._try(request, made, base, rng, kit, seen, sources, mine_ctx)
            if isinstance(why, TaskSpec):
                seen.add(why.instruction)
                made += 1
                yield Candidate(task=why)
            else:
                dropped[why] += 1
        self.stats.update(dropped)
        if made < request.count:
            detail = ", ".join(f"{k}: {v}" for k, v in dropped.most_common(6))
            yield Candidate(task=None, reason="exhausted",
                            detail=f"{made} of {request.count} built; dropped draws: {detail}")

    def _try(self, request: GenerationRequest, n: int, base: BaseTask | str, rng: random.Random, kit: Any,
             seen: set[str], sources: list[str], mine_ctx: Any) -> TaskSpec | str:
        if isinstance(base, str):
            return "base: " + base.split(":")[0]
        hook = getattr(kit, "hooks", {}).get(request.target_code)
        variant = inject(request.target_code, base, rng, hook)
        if variant is None:
            return "no place for the condition"
        if variant.instruction in seen:
            return "repeated instruction"
        task = _task(request, n, base, variant, sources)
        report = verified(task)  # shared with the gate, which judges the same object next
        if not report.ok:
            return "verify:" + report.failed()[0].rule
        if request.target_code not in mined_codes(task, mine_ctx):
            return "untargeted"
        return task
