"""The ``difficulty`` stage: WORKDIR/tasks + WORKDIR/rollouts -> WORKDIR/difficulty + difficulty.json.

Per task: its 1PL IRT difficulty, fitted on every scored rollout, and the Beta posterior of the pass
rate of *one* agent, the agent being trained (``agent``; default: the agent of median IRT ability).
Each task's prior for that pass rate is centred on the IRT prediction sigmoid(theta_agent - b_task),
from a 1PL fitted on the other agents, with its uncertainty plus a misfit spread fitted on the agent's
own counts (``difficulty.agent_pass_rates``): tasks the agent tried little still differ by difficulty.
``agent="*"`` restores the old pooling (one beta-binomial prior over every agent's summed attempts),
which is ill-posed for agents of unequal skill: the summed counts are under-dispersed and the prior's
concentration runs off to its bound, giving every task the same posterior.

Tasks with no rollout get a predicted difficulty from their nearest rated neighbours (hashing
embeddings of :func:`task_text`) and a ridge regression on their features, combined by inverse
variance; their pass-rate prior is then centred on that difficulty, with its sd.
The calibration report holds out a seeded 20% of the rated tasks and scores each predictor on them.

The dataset is flat (one column per field, no ``json`` column): read it with :func:`load_rows`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clawloop_synth.errors import InputError
from clawloop_synth.types import TaskSpec

__all__ = ["POOLED", "load_rows", "run_difficulty", "save_rows", "task_text"]

POOLED = "*"  # ``agent`` value for the old pooled pass rates (every agent's attempts summed per task)


def task_text(task: TaskSpec) -> str:
    """The text view embedded for neighbours: instruction, the reference's tool sequence, target code."""
    plan = " ".join(call.name for call in task.reference.calls)
    parts = [task.instruction, f"plan: {plan}", f"domain: {task.domain}"]
    if task.target_code:
        parts.append(f"target: {task.target_code}")
    return "\n".join(parts)


def save_rows(path: Path, rows: Sequence[dict[str, Any]]) -> int:
    """Write plain rows as a ``save_to_disk`` dataset at ``PATH/data`` (atomically)."""
    from clawloop_synth.workdir import staging_dir
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()
    with staging_dir(path) as tmp:
        Dataset.from_list(list(rows)).save_to_disk(str(tmp / "data"))
    return len(rows)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The rows written by :func:`save_rows`."""
    from clawloop_synth.store import require_records
    from datasets import load_from_disk

    require_records(path, path.name)
    return list(load_from_disk(str(path / "data")).to_list())


def _observations(workdir: Path, known: set[str]) -> tuple[list[str], list[str], list[float], dict[str, int]]:
    from clawloop_synth.rollout.stage import rollout_outcomes

    agents, task_ids, rewards = [], [], []
    skipped = {"no_reward": 0, "unknown_task": 0}
    for agent, task_id, reward in rollout_outcomes(workdir):
        if reward is None:
            skipped["no_reward"] += 1
        elif task_id not in known:
            skipped["unknown_task"] += 1
        else:
            agents.append(agent)
            task_ids.append(str(task_id))
            rewards.append(float(reward))
    return agents, task_ids, rewards, skipped


def _predicted_posterior(row: dict[str, Any], ability: np.ndarray, concentration: float) -> None:
    """Pooled mode only: an unrated task's pass rate is the IRT rate at its predicted difficulty averaged
    over the agents, with the pooled prior's concentration as its weight."""
    from scipy.special import expit

    p = float(np.clip(np.mean(expit(ability - row["difficulty"])), 1e-3, 1.0 - 1e-3))
    a, b = p * concentration, (1.0 - p) * concentration
    row.update(alpha=a, beta=b, pass_mean=p, pass_sd=float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))),
               learnability=a * b / ((a + b) * (a + b + 1.0)))


def _spread(values: np.ndarray) -> dict[str, float]:
    return {"sd": round(float(values.std()), 4), "min": round(float(values.min()), 4),
            "max": round(float(values.max()), 4)}


def run_difficulty(workdir: Path, seed: int = 0, *, holdout: float = 0.2, k: int = 10,
                   embedder: str = "hashing", agent: str | None = None) -> dict[str, Any]:
    """Fit IRT and one agent's pass rates on the rollouts, predict unrated tasks, calibrate; write the outputs.

    ``agent`` names the agent being trained, whose pass rates (and so learnability) the rows hold;
    ``None`` picks the agent of median IRT ability, ``"*"`` pools every agent (see the module docstring).
    """
    from clawloop_synth.difficulty import (
        Observations,
        agent_pass_rates,
        calibration_report,
        estimate_rows,
        feature_matrix,
        fit_irt,
        median_agent,
        predict_difficulty,
        predictions_by_task,
        smooth_pass_rates,
    )
    from clawloop_synth.embed import make_embedder
    from clawloop_synth.rollout.stage import load_tasks
    from clawloop_synth.workdir import Manifest, write_json

    started = time.perf_counter()
    tasks = load_tasks(workdir)
    ids = [t.id for t in tasks]
    agents, task_ids, rewards, skipped = _observations(workdir, set(ids))
    if not rewards:
        raise InputError("no scored rollouts of these tasks; run `rollout` first", file=str(workdir / "rollouts"))
    obs = Observations.from_arrays(agents, task_ids, rewards, tasks=ids)
    if agent is not None and agent != POOLED and agent not in obs.agents:
        raise InputError(f"no scored rollouts by agent {agent!r}; agents: {', '.join(obs.agents)}",
                         field="agent")
    fit = fit_irt(obs)
    rated = fit.rated
    emb = make_embedder(embedder).embed([task_text(t) for t in tasks])
    feats = [t.features for t in tasks]
    rated_idx, query_idx = np.flatnonzero(rated), np.flatnonzero(~rated)
    predicted: dict[str, tuple[float, float]] = {}
    per_predictor: dict[str, dict[str, float]] = {}
    if query_idx.size and rated_idx.size >= 2:
        codes = sorted({c for i in rated_idx for c in feats[i].failure_codes})
        x_rated, _ = feature_matrix([feats[i] for i in rated_idx], codes=codes)
        x_query, _ = feature_matrix([feats[i] for i in query_idx], codes=codes)
        preds = predict_difficulty(fit.difficulty[rated_idx], rated_se=fit.difficulty_se[rated_idx],
                                   rated_embeddings=emb[rated_idx], query_embeddings=emb[query_idx],
                                   rated_features=x_rated, query_features=x_query, k=k)
        query_ids = [ids[i] for i in query_idx]
        predicted = predictions_by_task(query_ids, preds["combined"])
        per_predictor = {name: {t: float(m) for t, m in zip(query_ids, p.mean, strict=True)}
                         for name, p in preds.items() if name != "combined"}
    if agent == POOLED:
        rates = smooth_pass_rates(obs)
        how: dict[str, object] = {"agent": "all agents", "method": "pooled beta-binomial"}
        chosen = POOLED
    else:
        chosen = agent if agent is not None else median_agent(fit)
        rates, prior = agent_pass_rates(obs, chosen, reference=fit, predicted=predicted)
        how = {**prior.to_dict(), "chosen_by": "named" if agent is not None else "median IRT ability"}
    rows = estimate_rows(rates, fit, predicted=predicted)
    by_id = {t.id: t for t in tasks}
    for j, row in enumerate(rows):
        task = by_id[row["task_id"]]
        row.update(domain=task.domain, steps=task.features.steps, tools=task.features.tools,
                   writes=task.features.writes, distractors=task.features.distractors,
                   predicted_neighbours=per_predictor.get("neighbours", {}).get(task.id),
                   predicted_features=per_predictor.get("features", {}).get(task.id),
                   pass_source="observed" if row["trials"] > 0 else "prior")
        if row["difficulty_source"] == "predicted":
            if agent == POOLED:
                _predicted_posterior(row, fit.ability, rates.prior.concentration)
            row["pass_source"] = "predicted"
        elif row["trials"] == 0 and agent != POOLED and rated[j]:
            row["pass_source"] = "irt"  # no attempt by this agent: the IRT-centred prior alone
    try:
        report = calibration_report(fit.difficulty[rated_idx], difficulty_se=fit.difficulty_se[rated_idx],
                                    embeddings=emb[rated_idx], features=[feats[i] for i in rated_idx],
                                    holdout=holdout, seed=seed, k=k)
        calibration: dict[str, Any] = {**report.to_dict(), "table": report.format()}
    except InputError as exc:
        calibration = {"skipped": str(exc)}
    save_rows(workdir / "difficulty", rows)
    sources: dict[str, int] = {}
    for row in rows:
        sources[row["difficulty_source"]] = sources.get(row["difficulty_source"], 0) + 1
    summary: dict[str, Any] = {
        "stage": "difficulty", "pass_rates_of": chosen if chosen != POOLED else "all agents",
        "tasks": len(tasks), "rated": int(rated.sum()), "predicted": len(predicted),
        "attempts": len(rewards), "skipped_rollouts": skipped, "agents": len(obs.agents),
        "difficulty_sources": sources, "embedder": embedder, "seed": seed,
        "pass_rates": {**how, "attempts": int(rates.trials.sum()),
                       "tasks_tried": int((rates.trials > 0).sum()),
                       "pass_mean": _spread(np.array([r["pass_mean"] for r in rows])),
                       "learnability": _spread(np.array([r["learnability"] for r in rows]))},
        "beta_prior": {"alpha": rates.prior.alpha, "beta": rates.prior.beta, "mean": rates.prior.mean,
                       "method": rates.prior.method},
        "irt": {"converged": fit.converged, "n_iter": fit.n_iter, "loss": round(fit.loss, 4),
                "ability": {a: round(float(v), 4) for a, v in zip(fit.agents, fit.ability, strict=True)},
                "difficulty_range": [round(float(fit.difficulty[rated].min()), 3),
                                     round(float(fit.difficulty[rated].max()), 3)]},
        "calibration": calibration, "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(workdir / "difficulty.json", summary)
    Manifest(workdir).record("difficulty", {"seed": seed, "holdout": holdout, "k": k, "embedder": embedder,
                                              "agent": agent},
                             {"tasks": len(tasks), "rated": int(rated.sum()), "predicted": len(predicted),
                              "pass_rates_of": summary["pass_rates_of"]})
    return summary
