"""A random-sampling baseline for coverage: tasks built from random gold actions, no targeting.

The procedural generator draws base tasks from a domain kit (random users, reservations and one
state-changing request, with the reads the tool graph asks for) and then injects the failure of a
cluster. The baseline stops before the injection: the same kit and draws, no cluster, no failure
exemplar, no target code. Coverage of the targeted tasks against it says what targeting adds over
sampling correct tasks at random from the same domain.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.types import Checks, Provenance, Solution, TaskFeatures, TaskSpec, Trace

__all__ = ["baseline_tasks", "baseline_tasks_for"]

_DRAWS_PER_TASK = 20


def baseline_tasks(domain: str, pack: Any, state: dict[str, Any], traces: list[Trace], n: int,
                   seed: int = 0) -> tuple[list[TaskSpec], Counter[str]]:
    """``n`` base tasks of ``domain`` drawn at random (distinct instructions), and why draws were
    skipped."""
    from clawloop_synth.generate.graph import build_graph
    from clawloop_synth.generate.procedural import KitContext, kit_for

    kit = kit_for(domain)
    ctx = KitContext(pack, state, build_graph(traces, pack.write_tools), [], traces)
    rng = random.Random(f"baseline:{seed}:{domain}")
    draws = kit.base_tasks(ctx, rng)
    tasks: list[TaskSpec] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    for _ in range(n * _DRAWS_PER_TASK):
        if len(tasks) >= n:
            break
        base = next(draws, None)
        if base is None:
            break
        if isinstance(base, str):
            skipped[base.split(":")[0]] += 1
            continue
        if base.instruction in seen:
            skipped["repeated instruction"] += 1
            continue
        seen.add(base.instruction)
        calls = list(base.calls)
        tasks.append(TaskSpec(
            id=f"{domain}-baseline-{len(tasks)}", domain=domain, instruction=base.instruction,
            policy=getattr(pack, "policy", ""), user_persona=base.persona, tools=base.tools,
            initial_state=base.state, reference=Solution(calls=calls, answer=base.answer),
            checks=Checks(outcome=True, required_outputs=list(base.outputs)),
            provenance=Provenance(generator="random-baseline", prompt_version=base.kind, seed=seed),
            features=TaskFeatures(steps=len(calls), tools=len({c.name for c in calls}),
                                  writes=sum(c.name in base.writes for c in calls), distractors=base.distractors)))
    return tasks, skipped


def baseline_tasks_for(workdir: Path, n: int, domain: str | None = None, db: Path | None = None,
                       seed: int = 0) -> tuple[list[TaskSpec], Counter[str]]:
    """The baseline for a work directory: domain and database as its generate stage recorded them
    (``generate.json``) unless given."""
    import json

    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.store import load_records

    recorded: dict[str, Any] = {}
    if (workdir / "generate.json").exists():
        recorded = json.loads((workdir / "generate.json").read_text()).get("config") or {}
    domain = domain or recorded.get("domain")
    if not domain:
        raise InputError("no domain: pass one, or run the generate stage first", file=str(workdir), field="domain")
    db = db or (Path(recorded["db"]) if recorded.get("db") else None)
    pack = load_pack(domain, db)
    state = pack.load_state(db)
    traces = list(load_records(workdir / "traces", Trace))
    return baseline_tasks(pack.name, pack, state, traces, n, seed)
