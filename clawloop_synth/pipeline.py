"""The resumable run over a work directory: every stage in order, skipping finished ones.

A stage is finished when ``manifest.json`` records it with the same config hash (see
``workdir.Manifest``); ``force`` re-runs everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.resources import data_dir
from clawloop_synth.workdir import Manifest, write_json

__all__ = ["RunConfig", "default_inputs", "run_pipeline"]


def default_inputs() -> list[Path]:
    """The embedded default: the demo domain's traces, shipped in ``datasets/``."""
    demo = data_dir("datasets") / "demo" / "traces.jsonl"
    if demo.is_file():
        return [demo]
    return [data_dir("datasets") / "samples" / "chat_sample.jsonl"]


@dataclass
class RunConfig:
    inputs: list[Path] = field(default_factory=default_inputs)
    seed: int = 0
    force: bool = False


@dataclass
class Stage:
    name: str
    config: dict[str, Any]
    run: Callable[[], dict[str, Any]]


def _stages(workdir: Path, config: RunConfig, tick: Callable[[str], None]) -> list[Stage]:
    from clawloop_synth.ingest.stage import run_ingest

    inputs = [str(path) for path in config.inputs]
    return [
        Stage("ingest", {"inputs": inputs, "on_error": "raise"},
              lambda: run_ingest(config.inputs, workdir, progress=lambda: tick("ingest"))),
    ]


def run_pipeline(workdir: Path, config: RunConfig, tick: Callable[[str], None] = lambda _: None,
                 report: Callable[[str, dict[str, Any], bool], None] = lambda *_: None) -> dict[str, Any]:
    """Run every stage; ``report(stage, summary, skipped)`` is called after each one."""
    import json

    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for stage in _stages(workdir, config, tick):
        manifest = Manifest(workdir)
        summary_file = workdir / f"{stage.name}.json"
        if not config.force and manifest.is_done(stage.name, stage.config) and summary_file.exists():
            results[stage.name] = json.loads(summary_file.read_text())
            report(stage.name, results[stage.name], True)
            continue
        results[stage.name] = stage.run()
        report(stage.name, results[stage.name], False)
    write_json(workdir / "run.json", {"workdir": str(workdir), "stages": list(results)})
    return results
