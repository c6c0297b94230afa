"""The ``evaluate`` stage: one JSON and one table on a task set's worth as training data.

Figures per work directory: kind and write shares, distinct instruction skeletons and tool sequences,
writes per task (:mod:`.shape`); reference policy violations (tasks whose reference breaks one of
the task's pack rules; NA when no task carries rules); ambiguity (tasks whose structured constraints
another entity also meets);
the shortcut agent's solve rate and the information-need share (:mod:`clawloop_synth.agents.shortcut`);
the always-refuse and always-transfer agents' solve rates on the tasks that are neither (:mod:`.solvers`);
the per-code discrimination ratio (:mod:`.discrimination`); coverage and novelty against the real
traces (``coverage.json``) and the difficulty spread (``difficulty.json``), when those stages ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawloop_synth.evaluate.discrimination import MIN_SIDE, discrimination
from clawloop_synth.evaluate.shape import shape_metrics
from clawloop_synth.types import PolicyRule, TaskSpec

__all__ = ["evaluate_tasks", "evaluate_workdir", "run_evaluate", "table"]


def _policy_violations(tasks: list[TaskSpec], rules: list[PolicyRule] | None = None) -> int | None:
    """References that break one of their task's policy rules (or of ``rules`` when given); None when no
    rule judges any task, so the figure reads NA rather than a reassuring 0."""
    from clawloop_synth.sim import SimEnv

    ruled = [task.model_copy(update={"rules": rules}) if rules is not None else task for task in tasks]
    ruled = [task for task in ruled if task.rules]
    counted = 0
    for task in ruled:
        env = SimEnv(task, max_steps=max(len(task.reference.calls), 1))
        for call in task.reference.calls:
            env.step(call)
        counted += bool(env.violations)
    return counted if ruled else None


def evaluate_tasks(tasks: list[TaskSpec], min_side: int = MIN_SIDE,
                   rules: list[PolicyRule] | None = None) -> dict[str, Any]:
    """Every task-level figure of ``tasks`` (no work-directory summaries); ``rules`` judge the references
    instead of each task's own."""
    from clawloop_synth.agents import information_needs
    from clawloop_synth.evaluate.solvers import RefuseAgent, TransferAgent, solve_rates
    from clawloop_synth.generate.constraints import constraint_problem
    from clawloop_synth.generate.gate import shortcut_solves

    n = len(tasks)
    share = (lambda k: round(k / n, 3)) if n else (lambda k: None)
    solved = sum(shortcut_solves(t) for t in tasks)
    needs = sum(bool(information_needs(t)) for t in tasks)
    constrained = [t for t in tasks if t.constraints]
    ambiguous = sum((constraint_problem(t) or ("",))[0] == "ambiguous" for t in constrained)
    return {
        **shape_metrics(tasks),
        "policy_violations": _policy_violations(tasks, rules),
        "with_constraints": len(constrained),
        "ambiguous": ambiguous if constrained else None,
        "shortcut_solve_rate": share(solved),
        "information_need_share": share(needs),
        "fixed_move_solvers": solve_rates(tasks, [RefuseAgent(), TransferAgent()]),
        "discrimination": discrimination(tasks, min_side),
    }


def _summary(workdir: Path, name: str) -> dict[str, Any]:
    path = workdir / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def evaluate_workdir(workdir: Path, min_side: int = MIN_SIDE, rules: list[PolicyRule] | None = None
                     ) -> dict[str, Any]:
    """The figures of one work directory's accepted tasks (``tasks/``) and its stage summaries."""
    from clawloop_synth.store import load_shared, require_records

    workdir = Path(workdir)
    require_records(workdir / "tasks", "accepted tasks", "run the generate stage first")
    tasks = load_shared(workdir / "tasks", TaskSpec)
    out: dict[str, Any] = {"workdir": str(workdir), **evaluate_tasks(tasks, min_side, rules)}
    coverage = _summary(workdir, "coverage")
    out["coverage"] = {k: coverage.get(k) for k in ("precision", "recall", "density", "coverage")} \
        if coverage else None
    out["novelty"] = coverage.get("novelty") if coverage else None
    difficulty = _summary(workdir, "difficulty")
    spread = (difficulty.get("pass_rates") or {}).get("pass_mean") if difficulty else None
    out["difficulty_spread"] = {"pass_rate": spread,
                                "irt_range": (difficulty.get("irt") or {}).get("difficulty_range")} \
        if difficulty else None
    return out


def run_evaluate(workdir: Path, against: Path | None = None, min_side: int = MIN_SIDE,
                 rules: list[PolicyRule] | None = None) -> dict[str, Any]:
    """Evaluate ``workdir`` (and ``against``); write ``WORKDIR/evaluate.json``; return it. ``rules``: judge
    both sets' references by these policy rules instead of the rules their tasks carry."""
    from clawloop_synth.workdir import write_json

    result: dict[str, Any] = {"stage": "evaluate", "min_side": min_side,
                              "sets": [evaluate_workdir(workdir, min_side, rules)]}
    if against is not None:
        result["sets"].append(evaluate_workdir(against, min_side, rules))
    write_json(Path(workdir) / "evaluate.json", result)
    return result


def _fmt(value: Any) -> str:
    if value is None:
        return "NA"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(_fmt, value)) or "-"
    return str(value)


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    disc = figures.get("discrimination") or {}
    rated = {code: row for code, row in disc.items() if row.get("ratio") is not None}
    rows = [
        ("tasks", _fmt(figures["tasks"])),
        ("kind shares", _fmt(figures.get("kind_family_shares", figures["kind_shares"]))),
        ("write shares", _fmt(figures["write_shares"])),
        ("writes per task (mean)", _fmt(figures["writes_per_task"]["mean"])),
        ("distinct instruction skeletons", _fmt(figures["distinct_skeletons"])),
        ("distinct tool sequences", _fmt(figures["distinct_tool_sequences"])),
        ("tools never exercised", _fmt(figures["tools_never_exercised"])),
        ("reference policy violations", _fmt(figures["policy_violations"])),
        ("ambiguous (of constrained)", f"{_fmt(figures['ambiguous'])} of {figures['with_constraints']}"),
        ("shortcut-agent solve rate", _fmt(figures["shortcut_solve_rate"])),
        ("information-need share", _fmt(figures["information_need_share"])),
        *[(f"{name} solve rate (not refusal/transfer)", _fmt(row["rate_plain"]))
          for name, row in (figures.get("fixed_move_solvers") or {}).items() if isinstance(row, dict)],
        ("codes with discrimination >= 3", f"{sum(r['ratio'] >= 3 for r in rated.values())} of {len(rated)} "
                                           f"rated ({len(disc)} codes)"),
    ]
    rows += [(f"  ratio {code}", f"{row['ratio']:.2f} ({row['agent']}: fails {row['fail_targeted']:.2f} targeted, "
                                 f"{row['fail_others']:.2f} others)") for code, row in sorted(rated.items())]
    rows += [("coverage vs real traces", _fmt(figures.get("coverage"))),
             ("novelty (mean distance)", _fmt((figures.get("novelty") or {}).get("mean"))),
             ("difficulty spread (pass rate)", _fmt((figures.get("difficulty_spread") or {}).get("pass_rate")))]
    return rows


def table(result: dict[str, Any]) -> str:
    """The sets of an evaluate result as one plain-text table, one column per set."""
    columns = [dict(_rows(s)) for s in result["sets"]]
    names = [name for name, _ in _rows(result["sets"][0])]
    for other in result["sets"][1:]:
        names += [name for name, _ in _rows(other) if name not in names]
    heads = ["figure"] + [Path(s["workdir"]).name or s["workdir"] for s in result["sets"]]
    body = [[name] + [col.get(name, "-") for col in columns] for name in names]
    widths = [max(len(str(r[i])) for r in [heads, *body]) for i in range(len(heads))]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(heads), line(["-" * w for w in widths]), *map(line, body)])
