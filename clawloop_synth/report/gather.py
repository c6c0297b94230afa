"""What each report section shows, read from a work directory's datasets and ``STAGE.json`` summaries.

Every section is a dict for the template, or None when the stage behind it has not run (the
template then says so; the evaluate and experiment sections are left out altogether). Figures are
embedded PNG data URIs from :mod:`clawloop_synth.report.plots`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from clawloop_synth.report import plots
from clawloop_synth.report.conversation import conversation, load_traces
from clawloop_synth.report.tasks import MAX_TASKS, task_row
from clawloop_synth.types import Failure, FailureCluster, TaskSpec

__all__ = ["EXAMPLES", "coverage_words", "gather", "summaries"]

EXAMPLES = 6  # failure examples shown as conversations (one per most frequent code)


def summaries(workdir: Path) -> dict[str, Any]:
    """``STAGE.json`` summaries of ``workdir`` (unreadable ones are listed under ``_unreadable``)."""
    out: dict[str, Any] = {"_unreadable": []}
    for path in sorted(workdir.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            out["_unreadable"].append(path.name)
    return out


def _records(workdir: Path, name: str, model: Any) -> list[Any] | None:
    from clawloop_synth.store import load_records, load_shared

    if not (workdir / name / "data").is_dir():
        return None
    if model is TaskSpec:  # read by the stages before it too
        return load_shared(workdir / name, model)
    return list(load_records(workdir / name, model))


def _rows(folder: Path) -> list[dict[str, Any]] | None:
    """A flat dataset (difficulty, curriculum) as dicts."""
    from datasets import load_from_disk

    if not (folder / "data").is_dir():
        return None
    return list(load_from_disk(str(folder / "data")).to_list())


# ------------------------------------------------------------------------------------- sections


def _input(s: dict[str, Any]) -> dict[str, Any] | None:
    ingest = s.get("ingest")
    if not ingest:
        return None
    reward = ingest.get("reward") or {}
    histogram = reward.get("histogram") or {}
    figure = plots.bar_chart(list(histogram), list(histogram.values()), "traces by reward", "traces") \
        if histogram else None
    files = [{"path": path, **info} for path, info in (ingest.get("files") or {}).items()]
    return {"traces": ingest.get("traces", 0), "by_format": ingest.get("by_format") or {}, "files": files,
            "reward": reward, "reward_figure": figure, "tool_calls": ingest.get("tool_calls", 0),
            "tool_results": ingest.get("tool_results", 0), "tool_result_errors": ingest.get("tool_result_errors", 0),
            "gold": ingest.get("gold") or {}, "skipped": ingest.get("skipped", 0),
            "skipped_records": (ingest.get("skipped_records") or [])[:100],
            "skipped_reasons": dict(Counter(r.get("reason") or "?" for r in ingest.get("skipped_records") or [])),
            "on_error": ingest.get("on_error")}


def _failures(workdir: Path, s: dict[str, Any], failures: list[Failure] | None,
              clusters: list[FailureCluster] | None) -> dict[str, Any] | None:
    mine = s.get("mine")
    if not mine:
        return None
    by_code: dict[str, int] = mine.get("by_code") or {}
    total = sum(by_code.values()) or 1
    codes = [{"code": code, "count": n, "share": n / total} for code, n in by_code.items()]
    modules: Counter[str] = Counter()
    for code, n in by_code.items():
        modules["/".join(code.split("/")[:2])] += n
    figure = plots.bar_chart(list(by_code), list(by_code.values()), "failures by taxonomy code", "failures") \
        if by_code else None
    examples = []
    if failures:
        exemplar_ids = {i for c in clusters or [] for i in c.exemplar_ids}
        chosen: list[Failure] = []
        for code in list(by_code)[:EXAMPLES]:
            of_code = [f for f in failures if f.code == code]
            preferred = [f for f in of_code if f.id in exemplar_ids] or of_code
            if preferred:
                chosen.append(preferred[0])
        traces = load_traces(workdir / "traces", {f.trace_id for f in chosen})
        examples = [conversation(traces[f.trace_id], f) for f in chosen if f.trace_id in traces]
    return {"failures": mine.get("failures", 0), "traces": mine.get("traces", 0),
            "failed_traces": mine.get("failed_traces", 0), "unexplained": mine.get("unexplained_traces", 0),
            "codes": codes, "modules": dict(modules.most_common()), "by_signal": mine.get("by_signal") or {},
            "figure": figure, "examples": examples}


def _clusters(s: dict[str, Any], clusters: list[FailureCluster] | None, failures: list[Failure] | None,
              tasks: list[TaskSpec] | None) -> dict[str, Any] | None:
    if clusters is None:
        return None
    cards = {f.id: f.card for f in failures or []}
    accepted = Counter(t.target_cluster for t in tasks or [])
    generated = {c["id"]: c for c in (s.get("generate") or {}).get("clusters") or []}
    rows = []
    for c in clusters:
        gen = generated.get(c.id, {})
        rows.append({"id": c.id, "label": c.label, "codes": c.codes, "size": c.size, "keywords": c.keywords,
                     "exemplars": [cards.get(i, i) for i in c.exemplar_ids[:3]], "tasks": accepted.get(c.id, 0),
                     "candidates": gen.get("candidates"), "rejected_by_reason": gen.get("rejected_by_reason") or {},
                     "note": gen.get("reason") or ""})
    figure = plots.bar_chart([f"{r['id']} {r['label']}" for r in rows], [r["tasks"] for r in rows],
                             "accepted tasks per failure cluster (red: none)", "tasks",
                             highlight=[r["tasks"] == 0 for r in rows]) if rows else None
    summary = s.get("cluster") or {}
    return {"clusters": rows, "figure": figure, "k": summary.get("k"), "k_chosen_by": summary.get("k_chosen_by"),
            "silhouette": summary.get("silhouette"), "labels": summary.get("labels"),
            "uncovered": sum(r["tasks"] == 0 for r in rows)}


def _tasks(s: dict[str, Any], tasks: list[TaskSpec] | None, difficulty: list[dict[str, Any]] | None,
           order: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    from clawloop_synth.sim import verify_once

    if tasks is None:
        return None
    by_task = {row["task_id"]: row for row in difficulty or []}
    rank = {row["task_id"]: row["rank"] for row in order or []}
    shown = tasks[:MAX_TASKS]
    rows = [task_row(t, verify_once(t), by_task.get(t.id), rank.get(t.id)) for t in shown]
    generate = s.get("generate") or {}
    export = s.get("export") or {}
    return {"rows": rows, "total": len(tasks), "shown": len(shown), "kinds": dict(Counter(r["kind"] for r in rows)),
            "verified": sum(r["verified"] for r in rows), "rejected": generate.get("rejected", 0),
            "rejected_by_reason": generate.get("rejected_by_reason") or {},
            "generator": generate.get("generator"), "export_skipped": export.get("skipped") or [],
            "export_out": export.get("out")}


def coverage_words(c: dict[str, Any]) -> list[str]:
    """The coverage metrics in words, each a sentence a reader can act on."""
    k = c.get("k", 5)
    words = [
        f"Precision {c['precision']:.3f}: {c['precision']:.0%} of the {c['n_synthetic']} tasks lie inside the "
        f"neighbourhood of some real trace (the ball reaching its {k}th nearest real neighbour): they look like "
        "real traffic.",
        f"Recall {c['recall']:.3f}: {c['recall']:.0%} of the {c['n_real']} real traces lie inside the neighbourhood "
        "of some task. "
        + ("Recall 0.000 means no real trace is near any task: the tasks reach none of the kinds of situation the "
           "traces contain, in this embedding." if c["recall"] == 0 else
           "The rest are situations no task resembles."),
        f"Density {c['density']:.3f}: how many real neighbourhoods a task sits in, on average, divided by k; about 1 "
        "means the tasks are as dense as the real data where they are, above 1 that they crowd where real data "
        "is dense.",
        f"Coverage {c['coverage']:.3f}: {c['coverage']:.0%} of the real traces have a task inside their own "
        "neighbourhood; a low figure with a high precision means the tasks sit in a few places of the real data.",
    ]
    novelty = c.get("novelty") or {}
    if novelty.get("share_beyond_real_radius") is not None:
        words.append(f"Novelty: {novelty['share_beyond_real_radius']:.0%} of the tasks are farther from their "
                     "nearest real trace than the median real trace is from its neighbours (new ground).")
    gap = c.get("gap_fill") or {}
    if gap.get("lift") is not None:
        words.append(f"Gap filling: {gap['synthetic_share']:.0%} of the tasks land in sparse regions of the real "
                     f"data, against {gap['holdout_share']:.0%} for held-out real traces (lift {gap['lift']:.2f}; "
                     "above 1, the tasks aim at what the traces rarely show).")
    return words


def _coverage(workdir: Path, s: dict[str, Any]) -> dict[str, Any] | None:
    c = s.get("coverage")
    if not c or "precision" not in c:
        return None
    return {"figures": c, "words": coverage_words(c), "map": plots.file_uri(workdir / "coverage_projection.svg"),
            "per_cluster": plots.file_uri(workdir / "coverage_clusters.svg"), "embedder": c.get("embedder"),
            "vendi": c.get("vendi") or {}}


def _difficulty(s: dict[str, Any], difficulty: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if difficulty is None:
        return None
    values = [float(r["difficulty"]) for r in difficulty if r.get("difficulty") is not None]
    summary = s.get("difficulty") or {}
    agents = (s.get("rollout") or {}).get("agents") or {}
    ability = ((summary.get("irt") or {}).get("ability")) or {}
    rows = [{"agent": name, "rollouts": a.get("rollouts"), "pass_rate": a.get("pass_rate"),
             "ability": ability.get(name)} for name, a in agents.items()]
    return {"tasks": len(difficulty), "figure": plots.histogram(values, "task difficulty", "difficulty (IRT logits; "
                                                                "higher is harder)") if values else None,
            "sources": summary.get("difficulty_sources") or {}, "pass_rates_of": summary.get("pass_rates_of"),
            "agents": rows, "calibration": (summary.get("calibration") or {}).get("table")}


def _curriculum(s: dict[str, Any], order: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    summary = s.get("curriculum")
    if order is None or not summary:
        return None
    order = sorted(order, key=lambda r: r["rank"])
    points = [(r["rank"], float(r["difficulty"])) for r in order if r.get("difficulty") is not None]
    figure = plots.scatter([p[0] for p in points], [p[1] for p in points],
                           f"difficulty along the {summary.get('strategy')} order", "position in the order",
                           "difficulty") if points else None
    comparison = ((summary.get("comparison") or {}).get("strategies")) or {}
    return {"strategy": summary.get("strategy"), "tasks": len(order), "figure": figure, "first": order[:20],
            "metrics": summary.get("metrics") or {}, "comparison": comparison}


def _evaluate(workdir: Path, s: dict[str, Any]) -> dict[str, Any] | None:
    """``evaluate.json`` when the evaluate stage has run: its scalar figures and the PNGs it lists."""
    summary = s.get("evaluate")
    if not summary:
        return None
    figures = [uri for name in summary.get("plots") or [] if (uri := plots.file_uri(workdir / str(name)))]
    return {"figures": _scalars(summary), "plots": figures}


def _experiments(workdir: Path, s: dict[str, Any]) -> list[dict[str, Any]]:
    """``experiment*.json`` summaries: learning curves (``curves``: arm -> [[x, y], ...]) and scalars."""
    out = []
    found: list[tuple[str, Any]] = []
    for name, summary in sorted(s.items()):
        if not name.startswith("experiment") or not isinstance(summary, dict):
            continue
        # experiment.json holds one entry per question (``experiment targeting|curriculum``)
        nested = [(f"{name} {q}", v) for q, v in summary.items() if isinstance(v, dict) and "question" in v]
        found += nested or [(name, summary)]
    for name, summary in found:
        curves = {}
        for arm, points in (summary.get("curves") or {}).items():
            pairs = [p for p in points if isinstance(p, list | tuple) and len(p) == 2]
            if pairs:
                curves[str(arm)] = ([float(p[0]) for p in pairs], [float(p[1]) for p in pairs])
        figure = plots.file_uri(workdir / str(summary["plot"])) if summary.get("plot") else None
        figure = figure or (plots.line_chart(curves, f"learning curves ({name})", str(summary.get("x_label") or "step"),
                                             str(summary.get("y_label") or "score")) if curves else None)
        out.append({"name": name, "figure": figure, "figures": _scalars({k: v for k, v in summary.items()
                                                                         if k not in ("curves", "seeds", "config")})})
    return out


def _scalars(data: dict[str, Any], prefix: str = "", limit: int = 80) -> list[tuple[str, Any]]:
    """Flattened scalar figures (``a.b.c``, value), at most ``limit``."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _scalars(value, name + ".", limit)
        elif isinstance(value, str | int | float | bool) or value is None:
            out.append((name, round(value, 4) if isinstance(value, float) else value))
        if len(out) >= limit:
            break
    return out[:limit]


def gather(workdir: Path) -> dict[str, Any]:
    """Every section's data for ``workdir``."""
    s = summaries(workdir)
    failures = _records(workdir, "failures", Failure)
    clusters = _records(workdir, "clusters", FailureCluster)
    tasks = _records(workdir, "tasks", TaskSpec)
    difficulty = _rows(workdir / "difficulty")
    strategy = (s.get("curriculum") or {}).get("strategy")
    order = _rows(workdir / "curriculum" / str(strategy)) if strategy else None
    stages = [name for name in ("ingest", "mine", "pack", "cluster", "generate", "coverage", "rollout", "difficulty",
                                "curriculum", "export", "evaluate") if name in s]
    return {
        "workdir": str(workdir), "stages": stages, "unreadable": s["_unreadable"],
        "input": _input(s),
        "failures": _failures(workdir, s, failures, clusters),
        "clusters": _clusters(s, clusters, failures, tasks),
        "tasks": _tasks(s, tasks, difficulty, order),
        "coverage": _coverage(workdir, s),
        "difficulty": _difficulty(s, difficulty),
        "curriculum": _curriculum(s, order),
        "evaluate": _evaluate(workdir, s),
        "experiments": _experiments(workdir, s),
    }
