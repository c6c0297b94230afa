"""The resumable run over a work directory: every stage in order, skipping finished ones.

Stages: ingest, mine, pack (the one given, the built-in whose tools are the traces', or one induced from
them), cluster, generate, coverage, rollout, difficulty, curriculum, export, report. A stage is
finished when ``manifest.json`` records it under ``run.STAGE`` with the same chained config (its own
and every earlier stage's, see ``workdir.Manifest``); ``force`` re-runs everything.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clawloop_synth.resources import data_dir
from clawloop_synth.workdir import Manifest, write_json

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["RUN_DEFAULTS", "RUN_SETS", "STAGE_COMMANDS", "RunConfig", "choose_pack", "default_inputs",
           "run_pipeline"]


def default_inputs() -> list[Path]:
    """The embedded default: the demo domain's traces, shipped in ``datasets/`` (and in the wheel)."""
    return [data_dir("datasets") / "demo" / "traces.jsonl"]


# The stages' option tables, named as the stage commands are (``pack`` takes ``induce``'s options), and
# the options each stage's command has that ``run`` sets itself (so they are in no table):
STAGE_COMMANDS = {"ingest": "ingest", "mine": "mine", "pack": "induce", "cluster": "cluster", "generate": "generate",
                  "coverage": "coverage", "rollout": "rollout", "difficulty": "difficulty",
                  "curriculum": "curriculum", "export": "export"}
RUN_SETS = {
    "ingest": {"inputs": "the run's inputs (-i)"},
    "mine": {"pack": "the run's --pack", "pack_db": "the run's --db",
             "traces": "run mines the ingested traces (mine the rollouts with `mine --traces rollouts`)"},
    "pack": {"inputs": "the ingested traces", "out": "WORKDIR/pack", "db": "the run's --db"},
    "generate": {"domain": "the pack the pack stage chose", "db": "the run's --db",
                 "dry_run": "nothing could follow a dry run (use `generate --dry-run`)"},
    "export": {"out": "WORKDIR/export"},
}
# Where run's own defaults differ from the stage command's.
RUN_DEFAULTS: dict[str, dict[str, Any]] = {"rollout": {"agents": ["scripted"], "k": 2}, "export": {"fmt": "hf"}}


@dataclass
class RunConfig:
    """What ``run`` does. ``options[STAGE]`` holds the stage's options under the parameter names of its
    command (``clawloop-synth STAGE``; ``pack`` takes ``induce``'s); an option left out takes the
    stage's default (``RUN_DEFAULTS`` first), and ``seed`` fills every stage's seed not given."""

    inputs: list[Path] = field(default_factory=default_inputs)
    domain: str | None = None  # a built-in pack name or a pack folder; None: the traces' pack, or induce one
    db: Path | None = None
    seed: int = 0
    force: bool = False
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where the work that splits runs (ingest, mine, cluster's embedding, rollout): local or ray, on the cluster
    # at ``address`` (None: a new local instance) with ``workers`` calls at once. Not hashed: outputs are the same.
    engine: str = "local"
    address: str | None = None
    workers: int | None = None

    def stage(self, name: str) -> dict[str, Any]:
        """The options of stage ``name`` as given, over run's defaults and the run's seed."""
        given = {**RUN_DEFAULTS.get(name, {}), **self.options.get(name, {})}
        if name in _SEEDED and "seed" not in given:
            given["seed"] = self.seed
        return given


_SEEDED = frozenset({"cluster", "generate", "coverage", "rollout", "difficulty", "curriculum", "export"})


@dataclass
class Stage:
    name: str
    config: dict[str, Any]
    run: Callable[[], dict[str, Any]]


def _renamed(options: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``options`` with the command's parameter names turned into the library function's."""
    return {names.get(key, key): value for key, value in options.items()}


# What the stages after generate import, with the libraries they load only when they run: about two
# seconds on one core (datasets 1.0 s with pandas, scipy's optimizers 0.5 s), imported while this
# process waits on the local pool's workers in generate or rollout (``engine.pool.meanwhile``) rather
# than at the stage's start: a module at a time, scipy and pandas before datasets (the largest piece, 0.6 s
# once pandas is in), so that no wait is overrun by much.
_LATER_IMPORTS = ("clawloop_synth.coverage.stage", "clawloop_synth.coverage.plots", "clawloop_synth.rollout.forked",
                  "scipy.linalg", "scipy.optimize", "clawloop_synth.difficulty.stage", "pandas", "datasets",
                  "clawloop_synth.curriculum.stage", "clawloop_synth.export.stage", "clawloop_synth.report.gather",
                  "clawloop_synth.report.render", "jinja2")


def _later(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported when first called (see ``_LATER_IMPORTS``)."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    return call


def _stages(workdir: Path, config: RunConfig, tick: Callable[[str], None],
            engine: Callable[[], Engine]) -> Iterator[Stage]:
    """The stages in order. A generator: the stages after ``pack`` are built once it has run (or was
    found done), because they work in the pack it chose, which may be one it induced from the traces.

    Each stage's config (hashed into the manifest, chained) is every option it runs with, so changing
    one re-runs that stage and those after it. An option a stage does not take is a TypeError."""
    from clawloop_synth.curriculum.stage import parse_params
    from clawloop_synth.generate.stage import GenerateConfig, run_generate
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster
    from clawloop_synth.rollout.stage import run_rollouts

    run_coverage = _later("clawloop_synth.coverage.stage", "run_coverage")
    run_difficulty = _later("clawloop_synth.difficulty.stage", "run_difficulty")
    run_curriculum = _later("clawloop_synth.curriculum.stage", "run_curriculum")
    export_tasks = _later("clawloop_synth.export", "export_tasks")
    push_export = _later("clawloop_synth.export", "push_export")
    run_report = _later("clawloop_synth.report", "run_report")

    inputs = [str(path) for path in config.inputs]
    wanted = config.domain or "auto"
    db = str(config.db) if config.db else None
    ingest = config.stage("ingest")
    yield Stage("ingest", {"inputs": inputs, **ingest},
                lambda: run_ingest(config.inputs, workdir, progress=lambda: tick("ingest"), engine=engine(), **ingest))
    mine = config.stage("mine")
    yield Stage("mine", {"domain": wanted, **mine}, lambda: _mine(workdir, config, engine=engine(), **mine))
    # The induce options count only when they act: with a model (offline induction takes none of them),
    # when the pack is induced (no --pack, and no built-in pack's tools are the traces').
    induce = config.stage("pack")
    if induce.get("model") is None or config.domain is not None or _matching_builtin(workdir) is not None:
        induce = {}
    yield Stage("pack", {"pack": wanted, "db": db, **induce},
                lambda: choose_pack(workdir, config.domain, config.db, induce, engine=engine))
    chosen = json.loads((workdir / "pack.json").read_text())
    pack_db = Path(chosen["db"]) if chosen.get("db") else None
    cluster = config.stage("cluster")
    yield Stage("cluster", cluster,
                lambda: run_cluster(workdir, engine=engine(),
                                    **_renamed(cluster, {"llm": "llm_model", "api_base": "llm_api_base"})))
    generate = GenerateConfig(domain=chosen["pack"], db=pack_db,
                              **_renamed(config.stage("generate"), {"cluster": "clusters"}))
    yield Stage("generate", {**config.stage("generate"), **generate.hashed()},
                lambda: run_generate(workdir, generate, engine=engine(), fresh=config.force))
    coverage = config.stage("coverage")
    yield Stage("coverage", coverage, lambda: run_coverage(workdir, **coverage))
    rollout = config.stage("rollout")
    yield Stage("rollout", rollout,
                lambda: run_rollouts(workdir, tick=lambda *_: tick("rollout"), engine=engine(),
                                     **_renamed(rollout, {"agents": "agents_spec"})))
    difficulty = config.stage("difficulty")
    yield Stage("difficulty", difficulty,
                lambda: run_difficulty(workdir, **_renamed(difficulty, {"neighbours": "k"})))
    curriculum = dict(config.stage("curriculum"))
    params = parse_params(curriculum.pop("param", None) or [])
    yield Stage("curriculum", config.stage("curriculum"),
                lambda: run_curriculum(workdir, params=params, **curriculum))
    export = dict(config.stage("export"))
    push = {"repo_id": export.pop("push_to_hub", None), "private": export.pop("private", False)}

    def run_export() -> dict[str, Any]:
        summary = export_tasks(workdir, out=workdir / "export", **export)
        if push["repo_id"]:
            summary["pushed"] = push_export(workdir / "export", push["repo_id"], private=push["private"])
            write_json(workdir / "export.json", summary)
        return summary

    yield Stage("export", config.stage("export"), run_export)
    yield Stage("report", {}, lambda: run_report(workdir))


def _builtin_tools() -> dict[str, list[str]]:
    from clawloop_synth.sim.pack import load_pack, pack_names

    return {name: [tool.name for tool in load_pack(name).tools] for name in pack_names()}


def _mine(workdir: Path, config: RunConfig, fail_below: float = 0.5, engine: Engine | None = None) -> dict[str, Any]:
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
    summary = run_mine(workdir, pack_tools, fail_below=fail_below, engine=engine)
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


def choose_pack(workdir: Path, domain: str | None, db: Path | None,
                induce: dict[str, Any] | None = None, engine: Callable[[], Engine] | None = None) -> dict[str, Any]:
    """The pack the run builds tasks in, written to WORKDIR/pack.json: the one given; else the built-in
    whose tools are the traces'; else one induced from the traces into WORKDIR/pack (``induce``, with
    ``induce``'s options: ``model``, ``api_base``, ``max_cost``, ``rounds``; the handlers fitted on
    ``engine()``'s workers when given)."""
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

        online = _online(workdir, **(induce or {}))
        folder = induce_pack(load_records(workdir / "traces", Trace), workdir / "pack", db=db, model=online,
                             engine=engine() if engine is not None else None)
        induced = load_pack(str(folder))
        # The induced pack carries its state (from --db or from the traces), so later stages need no db.
        summary.update(pack=str(folder), how="induced", db=None, name=induced.name, tools=len(induced.tools),
                       collections=list(induced.collections))
    write_json(workdir / "pack.json", summary)
    return summary


def _online(workdir: Path, model: str | None = None, api_base: str | None = None, max_cost: float | None = None,
            rounds: int = 2) -> Any:
    """The LLM that writes and repairs induced handlers (``induce --model``), or None (offline only)."""
    if model is None:
        return None
    from clawloop_synth.induce.online import OnlineConfig

    return OnlineConfig(model, api_base=api_base, max_cost=max_cost, rounds=rounds,
                        cache_dir=workdir / "cache" / "induce")


Around = Callable[[str], AbstractContextManager[Any]]


def run_pipeline(workdir: Path, config: RunConfig, tick: Callable[[str], None] = lambda _: None,
                 report: Callable[[str, dict[str, Any], bool], None] = lambda *_: None,
                 around: Around = lambda _: nullcontext()) -> dict[str, Any]:
    """Run every stage; ``report(stage, summary, skipped)`` is called after each one.

    A stage is skipped when the manifest holds it under ``run.STAGE`` with the same chained config:
    each stage's config includes every earlier one's, so a change upstream re-runs what follows.
    Each stage that runs runs inside ``around(stage)`` (``evals/bench_run.py`` times it there), and
    its wall-clock seconds are written to ``run.json``.
    """
    from clawloop_synth.engine import make_engine
    from clawloop_synth.engine.pool import forget_meanwhile, meanwhile

    later = [partial(importlib.import_module, module) for module in _LATER_IMPORTS]
    meanwhile(*later)
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    made: list[Engine] = []

    def engine() -> Engine:
        # Made when a stage first needs it, so a run whose stages are all done starts no cluster.
        if not made:
            made.append(make_engine(config.engine, config.address, config.workers))
        return made[0]

    try:
        _run_stages(workdir, config, tick, report, engine, results, around, seconds)
    finally:
        forget_meanwhile(*later)
        for started in made:
            started.close()
    write_json(workdir / "run.json", {"workdir": str(workdir), "stages": list(results), "seconds": seconds})
    return results


def _run_stages(workdir: Path, config: RunConfig, tick: Callable[[str], None],
                report: Callable[[str, dict[str, Any], bool], None], engine: Callable[[], Engine],
                results: dict[str, Any], around: Around, seconds: dict[str, float]) -> None:
    chain: list[Any] = []
    for stage in _stages(workdir, config, tick, engine):
        chain = [chain, stage.name, stage.config]
        key = f"run.{stage.name}"
        summary_file = workdir / f"{stage.name}.json"
        if not config.force and Manifest(workdir).is_done(key, chain) and summary_file.exists():
            results[stage.name] = json.loads(summary_file.read_text())
            report(stage.name, results[stage.name], True)
            continue
        start = time.perf_counter()
        with around(stage.name):
            results[stage.name] = stage.run()
        seconds[stage.name] = round(time.perf_counter() - start, 3)
        if not results[stage.name].get("pending_clusters"):  # else a re-run carries the stage on
            Manifest(workdir).record(key, chain, {})
        report(stage.name, results[stage.name], False)
