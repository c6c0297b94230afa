"""Demo-clinic knowledge for the procedural generator: the demo task builder's tasks as base tasks.

The demo domain already has a templated builder (``build_demo_tasks``); its tasks look records up
before they write and word their answers from the results, so they are reused as base tasks, each
seed of the clinic giving a new population of patients. Tasks carrying the builder's own outage are
skipped: the injectors put their own condition on the path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from clawloop_synth.generate.procedural.base import BaseTask, KitContext
from clawloop_synth.types import TaskSpec

__all__ = ["DemoKit", "base_of"]

_TASKS_PER_SEED = 40


def base_of(task: TaskSpec) -> BaseTask:
    """A demo TaskSpec (with no pending outage) as a base task."""
    return BaseTask(kind=task.provenance.prompt_version or "demo", instruction=task.instruction,
                    state=task.initial_state, tools=task.tools, calls=list(task.reference.calls),
                    answer=task.reference.answer, outputs=list(task.checks.required_outputs),
                    writes=frozenset(t.name for t in task.tools if t.writes),
                    distractors=task.features.distractors, persona=task.user_persona)


class DemoKit:
    """Base tasks from the demo builder over clinics generated from seeds drawn with the rng."""

    domain = "demo"

    def base_tasks(self, ctx: KitContext, rng: random.Random) -> Iterator[BaseTask | str]:
        from clawloop_synth.demo import build_demo_tasks

        while True:
            tasks = build_demo_tasks(_TASKS_PER_SEED, seed=rng.randrange(1_000_000))
            rng.shuffle(tasks)
            for task in tasks:
                if task.initial_state.get("service", {}).get("outages"):
                    yield "demo task carries the builder's own outage"
                    continue
                yield base_of(task)
