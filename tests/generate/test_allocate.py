"""Allocation of tasks across clusters: by real failure mass, with a floor, the total kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.generate.allocate import allocate, cluster_mass, default_floor
from clawloop_synth.generate.stage import GenerateConfig, build_requests, run_generate
from clawloop_synth.store import save_records
from clawloop_synth.types import Failure, FailureCluster, Trace

from .helpers import TemplatesGenerator


def test_mass_with_floor_keeps_the_total() -> None:
    got = allocate({"big": 93, "mid": 20, "tiny": 2}, mean=25, floor=5)
    assert sum(got.values()) == 75
    # floor 5 each, the other 60 by mass (48.5, 10.4, 1.0), the last one to the largest remainder
    assert got == {"big": 5 + 49, "mid": 5 + 10, "tiny": 5 + 1}
    assert allocate({"a": 3, "b": 3}, mean=4, floor=1) == {"a": 4, "b": 4}
    assert allocate({"a": 93, "b": 2}, mean=25, floor=5, allocation="even") == {"a": 25, "b": 25}
    assert allocate({"a": 0, "b": 0}, mean=3, floor=1) == {"a": 3, "b": 3}
    assert default_floor(25) == 10 and default_floor(2) == 1
    with pytest.raises(ValueError, match="unknown allocation"):
        allocate({"a": 1}, 1, 1, allocation="fair")


def test_mass_counts_distinct_failed_traces() -> None:
    failures = {f"f{n}": Failure(id=f"f{n}", trace_id="t1" if n < 5 else "t2", step=0, code="a/b/c",
                                 signal="s", card="c") for n in range(6)}
    cluster = FailureCluster(id="c", label="c", codes=["a/b/c"], size=6, member_ids=list(failures),
                             exemplar_ids=[])
    assert cluster_mass(cluster, failures) == 2  # one trace repeating a failure five times weighs as one
    assert cluster_mass(cluster, {}) == 6


def _workdir(root: Path, sizes: dict[str, int]) -> Path:
    failures, clusters = [], []
    for cid, n in sizes.items():
        ids = [f"{cid}#{k}" for k in range(n)]
        failures += [Failure(id=i, trace_id=i, step=1, code="agent/action/missing_action", signal="t", card="c")
                     for i in ids]
        clusters.append(FailureCluster(id=cid, label=cid, codes=["agent/action/missing_action"], size=n,
                                       member_ids=ids, exemplar_ids=ids[:1]))
    save_records(root / "failures", failures)
    save_records(root / "clusters", clusters)
    save_records(root / "traces", [Trace(id="t", source="openai_chat", messages=[])])
    return root


def test_stage_wants_tasks_by_mass(tmp_path: Path) -> None:
    work = _workdir(tmp_path, {"c00": 9, "c01": 1})
    config = GenerateConfig(domain="demo", per_cluster=3)
    from clawloop_synth.generate.stage import _load_inputs

    requests = build_requests(config, *_load_inputs(work, config))
    assert [(r.cluster.id, r.wanted, r.count) for r in requests] == [("c00", 5, 20), ("c01", 1, 4)]
    summary = run_generate(work, config, generator=TemplatesGenerator())
    assert [(c["id"], c["wanted"]) for c in summary["clusters"]] == [("c00", 5), ("c01", 1)]
    assert summary["wanted"] == 6
    assert [c["accepted"] for c in summary["clusters"]][1] <= 1
    with pytest.raises(InputError, match="unknown allocation"):
        run_generate(tmp_path / "x", GenerateConfig(domain="demo", allocation="fair"))
