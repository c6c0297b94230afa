"""`clawloop-synth run`: every stage over one work directory, resumable, ending in an export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawloop_synth.pipeline import RunConfig, run_pipeline

STAGES = ["ingest", "mine", "pack", "cluster", "generate", "coverage", "rollout", "difficulty", "curriculum", "export",
          "report"]


def run(workdir: Path, **config: Any) -> dict[str, bool]:
    skipped: dict[str, bool] = {}
    run_pipeline(workdir, RunConfig(options={"generate": {"per_cluster": 2}, "rollout": {"k": 1}}, **config),
                 report=lambda stage, _summary, was_skipped: skipped.__setitem__(stage, was_skipped))
    return skipped


def test_run_goes_through_every_stage_and_resumes(tmp_path: Path) -> None:
    from datasets import load_from_disk

    first = run(tmp_path)
    assert list(first) == STAGES and not any(first.values())
    exported = load_from_disk(str(tmp_path / "export" / "dataset"))
    assert sum(len(split) for split in exported.values()) > 0

    assert all(run(tmp_path).values())  # nothing left to do

    # A new seed changes clustering and everything after it, not what came before.
    reseeded = run(tmp_path, seed=1)
    assert [s for s in STAGES if reseeded[s]] == ["ingest", "mine", "pack"]
