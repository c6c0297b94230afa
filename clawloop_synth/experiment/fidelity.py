"""``experiment fidelity``: how faithful must the simulator be before what is learned in it stops transferring?

Per seed, the same training tasks (the targeted pool of the training folds) are trained in degraded simulators
and the learner is evaluated in the true pack on the held-out evaluation set:

- ``induced_P``: handlers of a pack induced (``clawloop_synth.induce``, with the database) from P% of the
  training folds' traces (a seeded sample), for each P of ``FRACTIONS``;
- ``noise_R``: the true pack with result noise at the rates the induced packs were measured to err at
  (``1 - fidelity``), so the two kinds of degradation span the same range;
- ``true`` and ``true_aa`` (another learner seed): the true pack, fidelity 1, and its A/A check.

Each arm's fidelity is measured on the reference calls of its training tasks (``degrade.fidelity``); its
transfer is the held-out success in the true pack. The floor is the fidelity below which the trained learner is
within its CI of the untrained one (paired by seed).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from clawloop_synth.experiment.arms import checkpoints, learning_curve
from clawloop_synth.experiment.degrade import ResultNoise, fidelity, rebind
from clawloop_synth.experiment.stats import paired, summary
from clawloop_synth.learn.protocol import Noise
from clawloop_synth.types import TaskSpec, Trace

__all__ = ["FRACTIONS", "aggregate_fidelity", "fidelity_seed", "induced_handlers"]

FRACTIONS = (5, 10, 25, 50, 100)
AA_OFFSET = 1000


def induced_handlers(folder: Path, traces: list[Trace], pct: int, seed: int, db: Path | None) -> dict[str, Any]:
    """Handlers of the pack induced from ``pct``% of ``traces`` (cached in ``folder``), with the induction report."""
    from clawloop_synth.induce import induce
    from clawloop_synth.workdir import write_json

    ids = sorted(t.id for t in traces)
    n = max(1, round(len(ids) * pct / 100))
    chosen = set(random.Random(f"fidelity:{seed}:{pct}").sample(ids, n))
    key = f"{pct}|{seed}|{','.join(sorted(chosen))}|{db}"
    path = folder / f"induced_{pct}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            return dict(cached)
    induced = induce([t for t in traces if t.id in chosen], db=db)
    out = {"key": key, "traces": n, "handlers": {t.name: t.handler for t in induced.tools},
           "seconds": induced.report.get("seconds")}
    folder.mkdir(parents=True, exist_ok=True)
    write_json(path, out)
    return out


def fidelity_seed(fold: Any, config: Any, untrained: dict[str, Any], base: Path, db: Path | None,
                  make: Any) -> dict[str, Any]:
    """Every arm of one seed: its curve (held-out success in the true pack) and its measured fidelity."""
    xs = checkpoints(config.budget, config.points)
    s = fold.seed
    order = list(fold.targeted)
    random.Random(f"draw:{s}").shuffle(order)
    order = order[: config.budget]
    arms: dict[str, tuple[list[TaskSpec], Noise | None, int]] = {"true": (order, None, s),
                                                                  "true_aa": (order, None, s + AA_OFFSET)}
    measured: dict[str, dict[str, Any]] = {"true": fidelity(order), "true_aa": fidelity(order)}
    rates: list[float] = []
    for pct in config.fractions:
        found = induced_handlers(base / "induced", fold.train_traces, pct, s, db)
        degraded = rebind(order, found["handlers"])
        arm = f"induced_{pct}"
        arms[arm] = (degraded, None, s)
        measured[arm] = {**fidelity(order, degraded), "traces": found["traces"]}
        if measured[arm]["fidelity"] is not None:
            rates.append(round(1.0 - measured[arm]["fidelity"], 2))
    for rate in sorted({r for r in rates if r > 0}):
        noisy = ResultNoise(rate, s)
        arm = f"noise_{rate:.2f}"
        arms[arm] = (order, noisy, s)
        measured[arm] = {**fidelity(order, noise=noisy), "rate": rate}
    out: dict[str, Any] = {}
    for arm, (tasks, noise, learner_seed) in arms.items():
        learner = make(learner_seed)
        try:
            out[arm] = learning_curve(learner, tasks, xs, fold.items, untrained, noise=noise)
        finally:
            from clawloop_synth.learn.registry import close_learner

            close_learner(learner)
    return {"arms": out, "fidelity": measured}


def aggregate_fidelity(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per level: mean fidelity and transfer (final held-out success) with CIs, vs untrained; the floor."""
    def final(curve: list[dict[str, Any]]) -> float | None:
        return curve[-1]["success"] if curve else None

    arms = sorted({a for s in per_seed for a in s["arms"]})
    arms = [a for a in arms if all(a in s["arms"] for s in per_seed)]  # noise rates may differ by seed
    untrained = [s["arms"]["true"][0]["success"] for s in per_seed]
    levels: dict[str, Any] = {}
    for arm in arms:
        finals = [final(s["arms"][arm]) for s in per_seed]
        fids = [s["fidelity"][arm]["fidelity"] for s in per_seed]
        levels[arm] = {"fidelity": summary(fids), "final_success": summary(finals),
                       "vs_untrained": paired(finals, untrained),
                       "vs_true": paired(finals, [final(s["arms"]["true"]) for s in per_seed])}
    # noise arms whose rate differs by seed: pooled by kind into the curve below, per seed
    points = []
    for s in per_seed:
        for arm, curve in s["arms"].items():
            points.append({"seed": s["seed"], "arm": arm, "kind": arm.split("_")[0],
                           "fidelity": s["fidelity"][arm]["fidelity"], "success": final(curve)})
    ranked = sorted((levels[a]["fidelity"]["mean"] or 0.0, a) for a in arms if a != "true_aa")
    transfers = [(f, a, levels[a]["vs_untrained"]["excludes_zero"] and levels[a]["vs_untrained"]["mean"] > 0)
                 for f, a in ranked]
    floor: dict[str, Any]
    below = [(f, a) for f, a, ok in transfers if not ok]
    if not below:
        floor = {"found": False, "lowest_tried": ranked[0][0] if ranked else None,
                 "note": "none found in the range tried: every level transfers (CI above the untrained one)"}
    else:
        f_top, a_top = max(below)
        above = [(f, a) for f, a, ok in transfers if ok and f > f_top]
        floor = {"found": True, "fidelity": f_top, "arm": a_top,
                 "next_transferring": min(above) if above else None,
                 "note": f"at fidelity {f_top:.3f} ({a_top}) and below the trained learner is within its CI of "
                         f"the untrained one" + (f"; {min(above)[1]} ({min(above)[0]:.3f}) transfers" if above
                                                 else "; no level above it transfers either")}
    return {"levels": levels, "points": points, "floor": floor,
            "untrained": summary(untrained), "aa_final": levels.get("true_aa", {}).get("vs_true")}
