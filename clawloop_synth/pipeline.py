"""The resumable run over a work directory: every stage in order, skipping finished ones.

Stages: ingest, mine, cluster, generate, coverage, rollout, difficulty, curriculum, export, report. A stage is
finished when ``manifest.json`` records it under ``run.STAGE`` with the same chained config (its own
and every earlier stage's, see ``workdir.Manifest``); ``force`` re-runs everything.
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
    """The embedded default: the demo domain's traces, shipped in ``datasets/`` (and in the wheel)."""
    return [data_dir("datasets") / "demo" / "traces.jsonl"]


@dataclass
class RunConfig:
    inputs: list[Path] = field(default_factory=default_inputs)
    domain: str = "demo"
    db: Path | None = None
    per_cluster: int = 5  # the mean; split by real failure mass (generate/allocate.py)
    allocation: str = "mass"
    agents: str = "scripted"
    attempts: int = 2  # rollouts per task per agent
    strategy: str = "learnability"
    seed: int = 0
    force: bool = False
    policy_from_traces: bool = False  # the traces' shared system prompt as the tasks' policy
    rewards: Path | None = None  # rewards file for traces that carry none (ingest --rewards)


@dataclass
class Stage:
    name: str
    config: dict[str, Any]
    run: Callable[[], dict[str, Any]]


def _stages(workdir: Path, config: RunConfig, tick: Callable[[str], None]) -> list[Stage]:
    from clawloop_synth.coverage.stage import run_coverage
    from clawloop_synth.curriculum_stage import run_curriculum
    from clawloop_synth.difficulty_stage import run_difficulty
    from clawloop_synth.export import export_tasks
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster, run_mine
    from clawloop_synth.report import run_report
    from clawloop_synth.rollout.stage import run_rollouts
    from clawloop_synth.sim.pack import load_pack

    inputs = [str(path) for path in config.inputs]
    pack = load_pack(config.domain, config.db)
    generate = GenerateConfig(domain=config.domain, db=config.db, per_cluster=config.per_cluster,
                              allocation=config.allocation, seed=config.seed,
                              policy_from_traces=config.policy_from_traces)
    seed = config.seed
    return [
        Stage("ingest", {"inputs": inputs, "on_error": "raise",
                         **({"rewards": str(config.rewards)} if config.rewards else {})},
              lambda: run_ingest(config.inputs, workdir, progress=lambda: tick("ingest"), rewards=config.rewards)),
        Stage("mine", {"domain": config.domain}, lambda: run_mine(workdir, pack.tools)),
        Stage("cluster", {"seed": seed, "embedder": "hashing"}, lambda: run_cluster(workdir, seed=seed)),
        Stage("generate", generate.hashed(), lambda: run_generate(workdir, generate)),
        Stage("coverage", {"k": 5, "seed": seed}, lambda: run_coverage(workdir, seed=seed)),
        Stage("rollout", {"agents": config.agents, "k": config.attempts, "seed": seed},
              lambda: run_rollouts(workdir, config.agents, k=config.attempts, seed=seed,
                                   tick=lambda *_: tick("rollout"))),
        Stage("difficulty", {"seed": seed}, lambda: run_difficulty(workdir, seed=seed)),
        Stage("curriculum", {"strategy": config.strategy, "seed": seed},
              lambda: run_curriculum(workdir, config.strategy, seed=seed)),
        Stage("export", {"format": "hf", "seed": seed},
              lambda: export_tasks(workdir, "hf", workdir / "export", seed=seed)),
        Stage("report", {}, lambda: run_report(workdir)),
    ]


def run_pipeline(workdir: Path, config: RunConfig, tick: Callable[[str], None] = lambda _: None,
                 report: Callable[[str, dict[str, Any], bool], None] = lambda *_: None) -> dict[str, Any]:
    """Run every stage; ``report(stage, summary, skipped)`` is called after each one.

    A stage is skipped when the manifest holds it under ``run.STAGE`` with the same chained config:
    each stage's config includes every earlier one's, so a change upstream re-runs what follows.
    """
    import json

    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    chain: list[Any] = []
    for stage in _stages(workdir, config, tick):
        chain = [chain, stage.name, stage.config]
        key = f"run.{stage.name}"
        summary_file = workdir / f"{stage.name}.json"
        if not config.force and Manifest(workdir).is_done(key, chain) and summary_file.exists():
            results[stage.name] = json.loads(summary_file.read_text())
            report(stage.name, results[stage.name], True)
            continue
        results[stage.name] = stage.run()
        Manifest(workdir).record(key, chain, {})
        report(stage.name, results[stage.name], False)
    write_json(workdir / "run.json", {"workdir": str(workdir), "stages": list(results)})
    return results
