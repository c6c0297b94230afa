"""Shared helpers for the generate-stage tests: a tiny work directory and a templates generator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from clawloop_synth.generate.base import Candidate, GenerationRequest, Judge
from clawloop_synth.store import save_records
from clawloop_synth.types import Failure, FailureCluster, Solution, Trace

CODES = {"c00": "agent/action/missing_action", "c01": "agent/planning/premature_termination",
         "c02": "agent/reasoning/missing_output"}


def make_workdir(root: Path) -> Path:
    """A work directory with three demo-domain clusters (one per code the demo templates target)."""
    failures, clusters = [], []
    for cid, code in CODES.items():
        ids = [f"t-{cid}#{n}" for n in range(3)]
        failures += [Failure(id=i, trace_id=f"t-{cid}", step=1, code=code, signal="test", card=f"{code} card")
                     for i in ids]
        clusters.append(FailureCluster(id=cid, label=code.split("/")[-1], codes=[code], size=3, member_ids=ids,
                                       exemplar_ids=ids[:1]))
    save_records(root / "failures", failures)
    save_records(root / "clusters", clusters)
    save_records(root / "traces", [Trace(id="t-c00", source="openai_chat", messages=[])])
    return root


class TemplatesGenerator:
    """Demo templated tasks whose target code is the request's; every 4th one has a broken exemplar."""

    name = "templates"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def propose(self, request: GenerationRequest, judge: Judge) -> Iterator[Candidate]:
        from clawloop_synth.demo import build_demo_tasks

        tasks = [t for t in build_demo_tasks(60, request.seed) if t.target_code == request.target_code]
        for n, task in enumerate(tasks[: request.count]):
            time.sleep(self.delay)
            update: dict[str, object] = {"id": f"{request.id_prefix}{n:04d}", "target_cluster": request.cluster.id}
            if n % 4 == 1:  # the exemplar solves the task: verify rejects it
                update["failure_exemplar"] = Solution.model_validate(task.reference.model_dump())
            yield Candidate(task.model_copy(update=update))
        yield Candidate(None, reason="unsupported", detail="no more templates")
