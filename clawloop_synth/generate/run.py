"""One generate run's config and its bookkeeping: the journal-aware judge every generator calls.

Apart from :mod:`.stage` (which loads the inputs and drives the generators) so that the engine's
path (:mod:`.on_engine`) can take a run without importing the stage that calls it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.generate.base import Candidate, GenerationRequest, Verdict
from clawloop_synth.generate.journal import Entry, Journal
from clawloop_synth.types import TaskSpec

__all__ = ["GENERATORS", "GenerateConfig", "GenerateRun", "Progress"]

GENERATORS = ("procedural", "llm", "dspy")
Progress = Callable[[dict[str, Any]], None]


@dataclass
class GenerateConfig:
    """Everything the stage needs; the fields that shape the output make up the journal's config hash."""

    domain: str
    db: Path | None = None
    per_cluster: int = 5  # accepted tasks wanted per cluster, on average (see allocate.py)
    allocation: str = "mass"  # "mass": by each cluster's real failure mass, with a floor; "even": per_cluster each
    floor: int | None = None  # fewest tasks wanted per cluster under "mass" (default: 2 * per_cluster // 5, >= 1)
    generator: str = "procedural"
    program: Path | None = None  # a compiled DSPy program (``optimize``), for generator "dspy"
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    concurrency: int = 8
    max_cost: float | None = None
    max_requests: int | None = None
    timeout: float = 60.0
    retry_wait: float = 1.0  # first transport backoff in seconds
    dry_run: bool = False
    seed: int = 0
    attempts: int = 4  # candidates proposed per wanted task, at most (repairs not counted)
    max_repairs: int = 2  # LLM generators: repairs after a rejected verdict
    embedder: str = "hashing"
    threshold: float = 0.95  # near-duplicate cosine
    clusters: list[str] | None = None  # only these cluster ids
    min_per_cluster: int = 5  # below this a cluster's summary states why
    policy_from_traces: bool = False  # the traces' shared system prompt replaces the pack's policy.md

    def hashed(self) -> dict[str, Any]:
        """The part of the config that decides which candidates exist and how they are judged."""
        from clawloop_synth.sim.pack_folder import pack_digest

        return {"domain": self.domain, "pack": pack_digest(self.domain), "db": str(self.db) if self.db else None,
                "generator": self.generator,
                "program": _file_hash(self.program), "model": self.model, "seed": self.seed,
                "embedder": self.embedder, "threshold": self.threshold, "max_repairs": self.max_repairs,
                "clusters": self.clusters, "policy_from_traces": self.policy_from_traces,
                "allocation": self.allocation, "floor": self.floor}


def _file_hash(path: Path | None) -> str | None:
    if path is None:
        return None
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        raise InputError("cannot read the DSPy program", file=str(path)) from None


@dataclass
class GenerateRun:
    """The inputs of one run and the journal-aware judge the generators call."""

    workdir: Path
    config: GenerateConfig
    journal: Journal
    gate: Any
    requests: list[GenerationRequest]
    progress: Progress | None = None
    usage: Callable[[], float] = lambda: 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    candidates: Counter[str] = field(default_factory=Counter)

    def accepted(self, cluster: str) -> int:
        return len(self.journal.accepted(cluster))

    def wanted(self, request: GenerationRequest) -> int:
        """Accepted tasks wanted for the request's cluster (its allocation)."""
        return self.config.per_cluster if request.wanted is None else request.wanted

    def remaining(self, request: GenerationRequest) -> int:
        return max(0, self.wanted(request) - self.accepted(request.cluster.id))

    def finished(self, request: GenerationRequest) -> bool:
        """Whether the journal says this cluster was already run to its allocation (or exhausted at it)."""
        done = self.journal.done.get(request.cluster.id)
        return self.remaining(request) == 0 or bool(done and done.get("wanted", done.get("per_cluster", 0))
                                                    >= self.wanted(request))

    def judge(self, request: GenerationRequest, task: TaskSpec, examined: Verdict | None = None) -> Verdict:
        """Judge ``task`` once; a journaled id keeps its verdict. Journals the verdict. ``examined``: the
        gate's task-only checks (:func:`~clawloop_synth.generate.gate.examine`) when already run."""
        with self._lock:
            known = self.journal.entries.get(task.id)
            if known is not None:
                return Verdict(known.accepted, known.reason, known.detail, list(known.codes))
            verdict = self.gate.judge(task, request.target_code, examined)
            self._record(Entry(task.id, request.cluster.id, verdict.accepted, verdict.reason, verdict.detail,
                               verdict.codes, task.model_dump(mode="json")))
            return verdict

    def judge_of(self, request: GenerationRequest) -> Callable[[TaskSpec], Verdict]:
        return lambda task: self.judge(request, task)

    def unbuilt(self, request: GenerationRequest, key: str, candidate: Candidate) -> None:
        """Journal a candidate the generator could not turn into a spec (with its reason)."""
        with self._lock:
            if key not in self.journal.entries:
                self._record(Entry(key, request.cluster.id, False, candidate.reason or "invalid_spec",
                                   candidate.detail[:1000]))

    def _record(self, entry: Entry) -> None:
        self.journal.add(entry)
        self.candidates[entry.cluster] += 1
        if self.progress is not None:
            rejected = len(self.journal.entries) - len(self.journal.accepted())
            self.progress({"accepted": len(self.journal.accepted()), "rejected": rejected,
                           "wanted": sum(self.wanted(r) for r in self.requests),
                           "cost": self.usage(), "cluster": entry.cluster, "ok": entry.accepted})

    def handle(self, request: GenerationRequest, index: int, candidate: Candidate,
               examined: Verdict | None = None) -> None:
        """Judge (if the generator did not) and journal one proposed candidate (``examined``: as in
        :meth:`judge`)."""
        if candidate.task is None:
            self.unbuilt(request, f"{request.id_prefix}x{index:04d}", candidate)
        else:  # memoized: a candidate the generator already had judged is not judged twice
            self.judge(request, candidate.task, examined)
