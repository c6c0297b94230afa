"""The resumable run over a work directory: every stage in order, skipping finished ones.

Stages: ingest, mine, pack (the one given, the built-in whose tools are the traces', or one induced from
them), cluster, generate, coverage, rollout, difficulty, curriculum, export, report. A stage is
finished when ``manifest.json`` records it under ``run.STAGE`` with the same chained config (its own
and every earlier stage's, see ``workdir.Manifest``); ``force`` re-runs everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.resources import data_dir
from clawloop_synth.workdir import Manifest, write_json

__all__ = ["RunConfig", "choose_pack", "default_inputs", "run_pipeline"]


def default_inputs() -> list[Path]:
    """The embedded default: the demo domain's traces, shipped in ``datasets/`` (and in the wheel)."""
    return [data_dir("datasets") / "demo" / "traces.jsonl"]


@dataclass
class RunConfig:
    inputs: list[Path] = field(default_factory=default_inputs)
    domain: str | None = None  # a built-in pack name or a pack folder; None: the traces' pack, or induce one
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


def _stages(workdir: Path, config: RunConfig, tick: Callable[[str], None]) -> Iterator[Stage]:
    """The stages in order. A generator: the stages after ``pack`` are built once it has run (or was
    found done), because they work in the pack it chose, which may be one it induced from the traces."""
    from clawloop_synth.coverage.stage import run_coverage
    from clawloop_synth.curriculum_stage import run_curriculum
    from clawloop_synth.difficulty_stage import run_difficulty
    from clawloop_synth.export import export_tasks
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster
    from clawloop_synth.report import run_report
    from clawloop_synth.rollout.stage import run_rollouts

    inputs = [str(path) for path in config.inputs]
    wanted = config.domain or "auto"
    db = str(config.db) if config.db else None
    yield Stage("ingest", {"inputs": inputs, "on_error": "raise",
                           **({"rewards": str(config.rewards)} if config.rewards else {})},
                lambda: run_ingest(config.inputs, workdir, progress=lambda: tick("ingest"), rewards=config.rewards))
    yield Stage("mine", {"domain": wanted}, lambda: _mine(workdir, config))
    yield Stage("pack", {"pack": wanted, "db": db}, lambda: choose_pack(workdir, config.domain, config.db))
    chosen = json.loads((workdir / "pack.json").read_text())
    pack_db = Path(chosen["db"]) if chosen.get("db") else None
    generate = GenerateConfig(domain=chosen["pack"], db=pack_db, per_cluster=config.per_cluster,
                              allocation=config.allocation, seed=config.seed,
                              policy_from_traces=config.policy_from_traces)
    seed = config.seed
    yield Stage("cluster", {"seed": seed, "embedder": "hashing"}, lambda: run_cluster(workdir, seed=seed))
    yield Stage("generate", generate.hashed(), lambda: run_generate(workdir, generate))
    yield Stage("coverage", {"k": 5, "seed": seed}, lambda: run_coverage(workdir, seed=seed))
    yield Stage("rollout", {"agents": config.agents, "k": config.attempts, "seed": seed},
                lambda: run_rollouts(workdir, config.agents, k=config.attempts, seed=seed,
                                     tick=lambda *_: tick("rollout")))
    yield Stage("difficulty", {"seed": seed}, lambda: run_difficulty(workdir, seed=seed))
    yield Stage("curriculum", {"strategy": config.strategy, "seed": seed},
                lambda: run_curriculum(workdir, config.strategy, seed=seed))
    yield Stage("export", {"format": "hf", "seed": seed},
                lambda: export_tasks(workdir, "hf", workdir / "export", seed=seed))
    yield Stage("report", {}, lambda: run_report(workdir))


def _builtin_tools() -> dict[str, list[str]]:
    from clawloop_synth.sim.pack import load_pack, pack_names

    return {name: [tool.name for tool in load_pack(name).tools] for name in pack_names()}


def _mine(workdir: Path, config: RunConfig) -> dict[str, Any]:
    """Mine with the traces' own tools (a pack's schemas only when it is their domain), then stop the
    run with one line when nothing can follow: no rated or failed trace, or a pack given (``--pack``)
    whose tools are not the traces'. With no pack given, the ``pack`` stage picks or induces one."""
    from clawloop_synth.errors import InputError
    from clawloop_synth.mine.stage import nothing_to_mine, run_mine
    from clawloop_synth.mine.toolset import pack_mismatch
    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.types import ToolSpec

    pack_tools: list[ToolSpec] | None
    if config.domain is not None:
        pack_tools = load_pack(config.domain, config.db).tools
    else:
        matched = _matching_builtin(workdir)
        pack_tools = load_pack(matched, config.db).tools if matched else None
    summary = run_mine(workdir, pack_tools)
    problem = nothing_to_mine(summary)
    if problem is None and config.domain is not None and not summary["pack_applied"]:
        packs = {config.domain: [t.name for t in pack_tools or []],
                 **{name: tools for name, tools in _builtin_tools().items() if name != config.domain}}
        problem = pack_mismatch(summary["trace_tools"], config.domain, packs)
    if problem is not None:
        raise InputError(problem, file=str(workdir / "mine.json"))
    return summary


def _matching_builtin(workdir: Path) -> str | None:
    """The first built-in pack whose tools are the ingested traces' tools, if any."""
    from clawloop_synth.mine.toolset import inventory, matching_packs
    from clawloop_synth.store import load_records
    from clawloop_synth.types import Trace

    names = inventory(load_records(workdir / "traces", Trace)).names()
    matched = matching_packs(names, _builtin_tools())
    return matched[0] if matched else None


def choose_pack(workdir: Path, domain: str | None, db: Path | None) -> dict[str, Any]:
    """The pack the run builds tasks in, written to WORKDIR/pack.json: the one given; else the built-in
    whose tools are the traces'; else one induced from the traces into WORKDIR/pack (``induce``)."""
    summary: dict[str, Any] = {"stage": "pack", "db": str(db) if db else None}
    if domain is not None:
        summary.update(pack=domain, how="given")
    elif (matched := _matching_builtin(workdir)) is not None:
        summary.update(pack=matched, how="matched")
    else:
        from clawloop_synth.induce.stage import induce_pack
        from clawloop_synth.sim.pack import load_pack
        from clawloop_synth.store import load_records
        from clawloop_synth.types import Trace

        folder = induce_pack(load_records(workdir / "traces", Trace), workdir / "pack", db=db)
        induced = load_pack(str(folder))
        # The induced pack carries its state (from --db or from the traces), so later stages need no db.
        summary.update(pack=str(folder), how="induced", db=None, name=induced.name, tools=len(induced.tools),
                       collections=list(induced.collections))
    write_json(workdir / "pack.json", summary)
    return summary


def run_pipeline(workdir: Path, config: RunConfig, tick: Callable[[str], None] = lambda _: None,
                 report: Callable[[str, dict[str, Any], bool], None] = lambda *_: None) -> dict[str, Any]:
    """Run every stage; ``report(stage, summary, skipped)`` is called after each one.

    A stage is skipped when the manifest holds it under ``run.STAGE`` with the same chained config:
    each stage's config includes every earlier one's, so a change upstream re-runs what follows.
    """
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
