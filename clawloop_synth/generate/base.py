"""What every generator shares: the request it answers and the judgement it gets back.

A generator proposes ``TaskSpec`` candidates for one failure cluster. The generate stage owns the
gate (verification, targeting, near-duplicates) and hands it to the generator as ``judge`` so that a
generator able to repair (the LLM one) can feed a failed verdict back to its model; a generator
that cannot repair (the procedural one) just proposes and lets the stage judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace

__all__ = ["Candidate", "GenerationRequest", "Generator", "Judge", "Verdict"]


@dataclass
class Verdict:
    """The gate's answer on one candidate: accepted, or rejected with a reason code and details."""

    accepted: bool
    reason: str = ""  # e.g. "verify:prefixes_fail", "untargeted", "near_duplicate", "invalid_spec"
    detail: str = ""
    codes: list[str] = field(default_factory=list)  # leaf codes the exemplar run was mined with


Judge = Callable[[TaskSpec], Verdict]


@dataclass
class Candidate:
    """A proposal; ``task`` is None when the generator could not even build a spec (say why)."""

    task: TaskSpec | None
    reason: str = ""
    detail: str = ""
    verdict: Verdict | None = None  # set when the generator already judged it (repair loops)
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenerationRequest:
    """Everything a generator may use to target one cluster in one domain."""

    cluster: FailureCluster
    target_code: str
    exemplars: list[Failure]  # member failures of the cluster, most typical first
    domain: str
    pack: Any  # clawloop_synth.sim.pack.DomainPack
    state: dict[str, Any]  # the domain's full state (entities to vary)
    traces: list[Trace]  # source traces (tool-dependency graph, gold actions, value flow)
    count: int  # how many candidates to propose
    seed: int
    id_prefix: str  # task ids must start with this and be unique within the request
    wanted: int | None = None  # accepted tasks wanted for this cluster (its allocation; None: per_cluster)


class Generator(Protocol):
    name: str

    def propose(self, request: GenerationRequest, judge: Judge) -> Iterator[Candidate]:
        """Yield candidates for ``request``; deterministic for a given request (and cached model answers)."""
        ...
