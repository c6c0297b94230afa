"""The ``curriculum`` stage: WORKDIR/difficulty -> WORKDIR/curriculum/<strategy> + curriculum.json.

It orders the tasks with one strategy (``curriculum.STRATEGIES``) and writes the ordered dataset
(task id, rank, the strategy's score, the strategy and its parameters, and the task's estimates). It
also compares every strategy's order under the same seed, plus the mean over 20 random orders:

- ``spearman_difficulty`` / ``kendall_difficulty``: rank correlation between position in the order
  and fitted (IRT) difficulty over the rated tasks; +1 is exactly easy to hard;
- ``head_learnability``: mean posterior E[p (1 - p)] of the first 20% of the order, beside the best
  possible (``max``) and the all-task mean;
- ``head_pass_mean``: mean posterior pass rate of that head.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clawloop_synth.errors import InputError

__all__ = ["compare_orders", "order_metrics", "parse_params", "run_curriculum"]

HEAD = 0.2
RANDOM_SEEDS = 20


def order_metrics(order: Sequence[str], rows: Mapping[str, Mapping[str, Any]], head: float = HEAD
                  ) -> dict[str, float | None]:
    """How an order of task ids tracks fitted difficulty and what its head's learnability is."""
    from clawloop_synth.ranks import kendall_tau, spearman

    fitted = [(pos, rows[t]["difficulty"]) for pos, t in enumerate(order) if rows[t]["difficulty_source"] == "irt"]
    rho = tau = None
    if len(fitted) >= 3 and np.ptp([d for _, d in fitted]) > 0:
        pos, diff = zip(*fitted, strict=True)
        rho = spearman(pos, diff)
        tau = kendall_tau(pos, diff)
    n_head = max(1, int(round(head * len(order))))
    first = order[:n_head]
    return {"spearman_difficulty": rho, "kendall_difficulty": tau,
            "head_learnability": float(np.mean([rows[t]["learnability"] for t in first])),
            "head_pass_mean": float(np.mean([rows[t]["pass_mean"] for t in first]))}


def _round(metrics: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None or np.isnan(v) else round(v, 4) for k, v in metrics.items()}


def compare_orders(estimates: Sequence[Any], rows: Mapping[str, Mapping[str, Any]], seed: int = 0
                   ) -> dict[str, Any]:
    """Every registered strategy (default parameters) under ``seed``, and 20 random orders averaged."""
    from clawloop_synth.curriculum.strategies import STRATEGIES, make_strategy

    table: dict[str, Any] = {}
    for name in STRATEGIES:
        table[name] = _round(order_metrics(make_strategy(name).order(estimates, seed).task_ids(), rows))
    randoms = [order_metrics(make_strategy("random").order(estimates, s).task_ids(), rows)
               for s in range(seed, seed + RANDOM_SEEDS)]
    table[f"random_mean_of_{RANDOM_SEEDS}"] = _round(
        {k: float(np.mean([m[k] for m in randoms])) if all(m[k] is not None for m in randoms) else None
         for k in randoms[0]})
    learn = np.array([r["learnability"] for r in rows.values()])
    n_head = max(1, int(round(HEAD * len(learn))))
    bounds = {"head_learnability_max": round(float(np.sort(learn)[::-1][:n_head].mean()), 4),
              "learnability_mean": round(float(learn.mean()), 4), "head": HEAD}
    return {"strategies": table, **bounds}


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """Strategy parameters from ``KEY=VALUE`` strings (``curriculum --param``): a JSON value, else the text."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="param")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(params or {})


def run_curriculum(workdir: Path, strategy: str = "learnability", seed: int = 0,
                   params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Order WORKDIR's tasks with ``strategy``; write WORKDIR/curriculum/<strategy> and curriculum.json."""
    from clawloop_synth.curriculum.strategies import TaskEstimate, make_strategy
    from clawloop_synth.difficulty.stage import load_rows, save_rows
    from clawloop_synth.workdir import Manifest, write_json

    started = time.perf_counter()
    rows = load_rows(workdir / "difficulty")
    if not rows:
        raise InputError("the difficulty dataset is empty", file=str(workdir / "difficulty"))
    by_id = {r["task_id"]: r for r in rows}
    estimates = [TaskEstimate.from_row(r) for r in rows]
    chosen = make_strategy(strategy, **_params(params))
    ordering = chosen.order(estimates, seed)
    params_json = json.dumps(ordering.params, sort_keys=True)
    out_rows = []
    for item in ordering.rows():
        est = by_id[item["task_id"]]
        out_rows.append({**item, "params": params_json, "seed": seed, "difficulty": est["difficulty"],
                         "difficulty_source": est["difficulty_source"], "pass_mean": est["pass_mean"],
                         "learnability": est["learnability"], "domain": est.get("domain")})
    save_rows(workdir / "curriculum" / strategy, out_rows)
    comparison = compare_orders(estimates, by_id, seed)
    summary: dict[str, Any] = {
        "stage": "curriculum", "strategy": strategy, "params": ordering.params, "seed": seed,
        "tasks": len(out_rows), "path": str(workdir / "curriculum" / strategy),
        "first": [{"task_id": r["task_id"], "score": round(r["score"], 4)} for r in out_rows[:10]],
        "metrics": comparison["strategies"][strategy] if not params else
        _round(order_metrics(ordering.task_ids(), by_id)),
        "comparison": comparison,
        "orders_written": sorted(p.name for p in (workdir / "curriculum").iterdir() if p.is_dir()
                                 and not p.name.startswith(".")),
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(workdir / "curriculum.json", summary)
    Manifest(workdir).record("curriculum", {"strategy": strategy, "seed": seed, "params": ordering.params},
                             {"tasks": len(out_rows)})
    return summary
