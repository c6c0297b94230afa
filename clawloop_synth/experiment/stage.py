"""``experiment targeting|curriculum``: a learner trained on the tasks, answers with paired bootstrap CIs.

Per seed (one fold split by task, see ``folds.py``): the training folds' traces alone are mined, clustered and
generated into the training pools; the held-out folds' traces give the evaluation set (``evalset.py``); then
each arm trains a fresh learner chunk by chunk and is evaluated after each chunk (``arms.py``).

- ``targeting``: the same budget drawn from the targeted pool, from the random pool (same generator and gate,
  no targeting) and from the real tasks alone; curves of success and of each mode's gap.
- ``curriculum``: the same training tasks in the orders random, fixed, difficulty, learnability and PLR, the
  last three from difficulty re-estimated from the learner's own rewards before each chunk; area under the
  curve and tasks-to-threshold.

Every comparison is paired by seed against the random arm, with a 95% bootstrap CI over seeds, beside an A/A
check: a second random arm with another seed, whose difference from the first shows the noise floor.
Writes WORKDIR/experiment.json (one entry per question, every number) and WORKDIR/experiment_QUESTION.png.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.experiment.arms import adaptive_curve, checkpoints, learning_curve
from clawloop_synth.experiment.evalset import EvalItem, eval_items, evaluate
from clawloop_synth.experiment.fidelity import aggregate_fidelity, fidelity_seed
from clawloop_synth.experiment.folds import split
from clawloop_synth.experiment.pools import build_pool, gold_pool, mined_codes_by_trace
from clawloop_synth.experiment.rounds import aggregate_rounds, rounds_seed
from clawloop_synth.experiment.stats import auc, paired, summary, tasks_to_threshold
from clawloop_synth.types import TaskSpec, Trace

__all__ = ["QUESTIONS", "ExperimentConfig", "run_experiment"]

QUESTIONS = ("targeting", "curriculum", "fidelity", "rounds")
ORDERS = ("random", "fixed", "difficulty", "learnability", "plr")
AA_OFFSET = 1000  # the A/A arm's seed offset


@dataclass
class ExperimentConfig:
    question: str
    learner: str = "policy"
    seeds: int = 5
    budget: int = 30  # training tasks per arm (the last point of every curve)
    points: int = 2  # checkpoints after 0 (untrained) up to the budget
    eval_size: int = 24  # generated evaluation tasks per seed (plus every held-out real task that verifies)
    folds: int = 5
    probe: int = 10  # curriculum: tasks left whose reward is re-measured before each chunk
    threshold: float = 0.8  # curriculum: tasks-to-threshold at this share of the random order's final success
    rl_epochs: int = 1
    fractions: tuple[int, ...] = (5, 10, 25, 50, 100)  # fidelity: % of the training traces each pack is induced from
    rounds: int = 3  # rounds: rollout -> mine -> cluster -> generate -> train, after round 0
    probe_rollouts: int = 40  # rounds: tasks the learner plays per round to find its own failures
    model: str | None = None  # llm learner: any litellm model string
    api_base: str | None = None
    max_cost: float | None = None


@dataclass
class _Fold:
    seed: int
    split: dict[str, Any]
    targeted: list[TaskSpec]
    random: list[TaskSpec]
    real: list[TaskSpec]
    items: list[EvalItem]
    pools: dict[str, Any]
    train_traces: list[Trace]


def _options(workdir: Path, config: ExperimentConfig) -> Any:
    from clawloop_synth.learn.registry import LearnerOptions

    return LearnerOptions(model=config.model, api_base=config.api_base, max_cost=config.max_cost,
                          cache_dir=workdir / "experiment" / "llm-cache" if config.model else None,
                          workdir=workdir / "experiment" / "learner")


def _maker(workdir: Path, config: ExperimentConfig) -> Callable[[int], Any]:
    from clawloop_synth.learn.registry import make_learner

    options = _options(workdir, config)
    return lambda seed: make_learner(config.learner, seed, config.rl_epochs, options)


def _fold(workdir: Path, traces: list[Trace], pack: str, db: Path | None, config: ExperimentConfig, seed: int,
          need_random: bool) -> _Fold:
    sp = split(traces, seed, config.folds)
    base = workdir / "experiment" / f"seed{seed}"
    targeted, s_targeted = build_pool(base / "train_targeted", sp.train, "targeted", pack, db, config.budget, seed)
    rand: list[TaskSpec] = []
    s_random: dict[str, Any] = {}
    if need_random:
        rand, s_random = build_pool(base / "train_random", sp.train, "random", pack, db, config.budget, seed)
    real, s_real = gold_pool(sp.train, pack, db)
    held, s_held = build_pool(base / "held", sp.held, "targeted", pack, db, config.eval_size, seed)
    held_real, s_held_real = gold_pool(sp.held, pack, db)
    items = eval_items(held, held_real, mined_codes_by_trace(base / "held"), config.eval_size, seed)
    pools = {"train_targeted": s_targeted, "train_random": s_random, "train_real": s_real, "held": s_held,
             "held_real": s_held_real, "eval_tasks": len(items),
             "eval_real": sum(1 for i in items if i.source == "real")}
    return _Fold(seed, sp.summary(), targeted, rand, real, items, pools, sp.train)


def _shuffled(tasks: list[TaskSpec], seed: int) -> list[TaskSpec]:
    out = list(tasks)
    random.Random(f"draw:{seed}").shuffle(out)
    return out


def _curve(make: Callable[[int], Any], seed: int, run: Callable[[Any], Any]) -> Any:
    from clawloop_synth.learn.registry import close_learner

    learner = make(seed)
    try:
        return run(learner)
    finally:
        close_learner(learner)


def _targeting_seed(fold: _Fold, config: ExperimentConfig, untrained: dict[str, Any],
                    make: Callable[[int], Any]) -> dict[str, Any]:
    xs = checkpoints(config.budget, config.points)
    s = fold.seed
    arms = {"targeted": (_shuffled(fold.targeted, s), s), "random": (_shuffled(fold.random, s), s),
            "random_aa": (_shuffled(fold.random, s + AA_OFFSET), s + AA_OFFSET)}
    if fold.real:  # traces without gold actions have no real tasks to train on
        arms["real_only"] = (_shuffled(fold.real, s), s)
    out = {}
    for arm, (order, learner_seed) in arms.items():
        def run(learner: Any, order: list[TaskSpec] = order) -> list[dict[str, Any]]:
            return learning_curve(learner, order[: config.budget], xs, fold.items, untrained)

        out[arm] = _curve(make, learner_seed, run)
    return out


def _curriculum_seed(fold: _Fold, config: ExperimentConfig, untrained: dict[str, Any],
                     make: Callable[[int], Any]) -> dict[str, Any]:
    from clawloop_synth.curriculum import make_strategy

    xs = checkpoints(config.budget, config.points)
    s = fold.seed
    pool = _shuffled(fold.targeted, s)[: config.budget]  # the same tasks for every order
    out = {}
    arms = [(name, name, s) for name in ORDERS] + [("random_aa", "random", s + AA_OFFSET)]
    for arm, strategy_name, arm_seed in arms:
        probe = config.probe if strategy_name in ("difficulty", "learnability", "plr") else 0
        def run(learner: Any, name: str = strategy_name, seed: int = arm_seed,
                probe: int = probe) -> list[dict[str, Any]]:
            return adaptive_curve(learner, pool, xs, fold.items, make_strategy(name), seed, probe, untrained)[0]

        out[arm] = _curve(make, arm_seed, run)
    return out


def _evaluate_on(items: list[EvalItem], learner: Any) -> dict[str, Any]:
    return evaluate(learner, items)


def _final(curve: list[dict[str, Any]]) -> float | None:
    return curve[-1]["success"] if curve else None


def _auc(curve: list[dict[str, Any]]) -> float | None:
    pts = [(p["tasks"], p["success"]) for p in curve if p["success"] is not None]
    return auc([x for x, _ in pts], [y for _, y in pts]) if len(pts) >= 2 else None


def _aggregate(question: str, per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    arms = [a for a in per_seed[0]["arms"] if all(a in s["arms"] for s in per_seed)] if per_seed else []
    finals = {a: [_final(s["arms"][a]) for s in per_seed] for a in arms}
    aucs = {a: [_auc(s["arms"][a]) for s in per_seed] for a in arms}
    out: dict[str, Any] = {"final_success": {a: summary(v) for a, v in finals.items()},
                           "auc": {a: summary(v) for a, v in aucs.items()}}
    others = [a for a in arms if a not in ("random", "random_aa")]
    out["vs_random_final"] = {a: paired(finals[a], finals["random"]) for a in others}
    out["vs_random_auc"] = {a: paired(aucs[a], aucs["random"]) for a in others}
    out["aa_final"] = paired(finals["random_aa"], finals["random"])
    out["aa_auc"] = paired(aucs["random_aa"], aucs["random"])
    if question == "targeting":
        modes = sorted({m for s in per_seed for a in arms for m in s["arms"][a][-1]["gap"]})
        out["final_gap"] = {m: {a: summary([s["arms"][a][-1]["gap"].get(m) for s in per_seed]) for a in arms}
                            for m in modes}
        out["gap_vs_random"] = {m: {a: paired([s["arms"][a][-1]["gap"].get(m) for s in per_seed],
                                              [s["arms"]["random"][-1]["gap"].get(m) for s in per_seed])
                                    for a in others} for m in modes}
    else:
        ttt: dict[str, list[float | None]] = {a: [] for a in arms}
        for s in per_seed:
            goal = s["threshold"]
            for a in arms:
                curve = s["arms"][a]
                ttt[a].append(None if goal is None else
                              tasks_to_threshold([p["tasks"] for p in curve], [p["success"] or 0.0 for p in curve],
                                                 goal))
        out["tasks_to_threshold"] = {a: summary(v) for a, v in ttt.items()}
        out["tasks_to_threshold_reached"] = {a: sum(v is not None for v in vals) for a, vals in ttt.items()}
    return out


def run_experiment(workdir: Path, config: ExperimentConfig, say: Callable[[str], None] = lambda _: None
                   ) -> dict[str, Any]:
    """Run one question over ``config.seeds`` seeds; merge its entry into WORKDIR/experiment.json."""
    from clawloop_synth.learn.registry import close_learner
    from clawloop_synth.store import load_records, require_records
    from clawloop_synth.workdir import write_json

    if config.question not in QUESTIONS:
        raise InputError(f"unknown experiment {config.question!r} (known: {', '.join(QUESTIONS)})",
                         field="question")
    if config.seeds < 2 or config.budget < 1 or config.points < 1:
        raise InputError("--seeds must be at least 2 (a CI needs them), --budget and --points at least 1")
    make = _maker(workdir, config)
    close_learner(make(0))  # an unknown learner (or one missing its model) fails before any work
    pack_file = workdir / "pack.json"
    if not pack_file.exists():
        raise InputError("no pack.json: run `clawloop-synth run` on this work directory first", file=str(pack_file))
    chosen = json.loads(pack_file.read_text())
    pack, db = chosen["pack"], (Path(chosen["db"]) if chosen.get("db") else None)
    require_records(workdir / "traces", "traces")
    traces = list(load_records(workdir / "traces", Trace))
    started = time.perf_counter()
    per_seed: list[dict[str, Any]] = []
    for seed in range(config.seeds):
        t0 = time.perf_counter()
        fold = _fold(workdir, traces, pack, db, config, seed, need_random=config.question == "targeting")
        if not fold.items:
            raise InputError(f"seed {seed}: the held-out fold gave no evaluation task", file=str(workdir))
        if not fold.targeted:
            raise InputError(f"seed {seed}: the training folds gave no targeted task "
                             f"({fold.pools['train_targeted'].get('note', 'none generated')})", file=str(workdir))
        untrained: dict[str, Any] = _curve(make, seed, functools.partial(_evaluate_on, fold.items))
        t1 = time.perf_counter()
        base = workdir / "experiment" / f"seed{seed}"
        row: dict[str, Any] = {"seed": seed, "split": fold.split, "pools": fold.pools}
        if config.question == "fidelity":
            row.update(fidelity_seed(fold, config, untrained, base, db, make))
        elif config.question == "rounds":
            row.update(_curve(make, seed, functools.partial(rounds_seed, fold, config, base, pack, db)))
            row["untrained"] = untrained["success"]
        else:
            row["arms"] = (_targeting_seed if config.question == "targeting" else _curriculum_seed)(
                fold, config, untrained, make)
        row["seconds"] = {"pools": round(t1 - t0, 1), "arms": round(time.perf_counter() - t1, 1)}
        if config.question == "curriculum":
            final = _final(row["arms"]["random"])
            row["threshold"] = None if not final else round(config.threshold * final, 4)
        per_seed.append(row)
        took = f" ({row['seconds']['pools'] + row['seconds']['arms']:.0f} s)"
        if "arms" in row:
            say(f"seed {seed}: " + ", ".join(f"{a} {_final(c)}" for a, c in row["arms"].items()) + took)
        else:
            say(f"seed {seed}: " + "; ".join(f"round {r['round']} success {r['success']} closed {r['closed']} "
                                           f"opened {r['opened']}" for r in row["rounds"]) + took)
    aggregate = (aggregate_fidelity(per_seed) if config.question == "fidelity" else
                 aggregate_rounds(per_seed) if config.question == "rounds" else
                 _aggregate(config.question, per_seed))
    result = {"question": config.question, "config": asdict(config), "pack": pack,
              "seconds": round(time.perf_counter() - started, 1), **aggregate, "seeds": per_seed}
    out = workdir / "experiment.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing[config.question] = result
    write_json(out, existing)
    from clawloop_synth.experiment.plot import mean_curves, plot_question

    result["plot"] = plot_question(result, workdir / f"experiment_{config.question}.png")
    if "arms" in per_seed[0]:
        result["curves"] = mean_curves(result)
    existing[config.question] = result
    write_json(out, existing)
    return result
