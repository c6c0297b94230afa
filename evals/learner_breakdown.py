"""Where the policy learner goes wrong: per task kind, and per decision (the first write that differs).

Used by ``evals/learner.py --breakdown``. The harness (not the learner) reads the task's kind and reference here.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from clawloop_synth.types import Rollout, TaskSpec

__all__ = ["diagnose", "kind_group", "print_breakdown"]


def kind_group(task: TaskSpec) -> str:
    """One request's kind ("book one-stop", "refusal: cancel"); tasks of two requests as "two: <a> + <b>" families."""
    kind = task.kind or "?"
    parts = [p.strip() for p in kind.split("+")]
    if len(parts) > 1:
        return "two requests"
    return parts[0]


def _flat(args: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(args, dict):
        for k, v in args.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(args, list):
        out[prefix + "#len"] = len(args)
        for i, v in enumerate(args):
            out.update(_flat(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = args
    return out


def diagnose(task: TaskSpec, rollout: Rollout) -> str:
    """The first decision that differs from the reference, judged on the writes (their order and arguments)."""
    if rollout.reward:
        return "ok"
    writes = {t.name for t in task.tools if t.writes}
    ours = [(c.name, c.arguments) for m in rollout.messages for c in (m.tool_calls or []) if c.name in writes]
    ref = [(c.name, c.arguments) for c in task.reference.calls if c.name in writes]
    for i in range(max(len(ours), len(ref))):
        if i >= len(ref):
            return "extra write" if ref else "wrote on a no-write task"
        if i >= len(ours):
            return "missing write" if ours else "no write"
        if ours[i][0] != ref[i][0]:
            return "wrong write tool"
        if ours[i][1] != ref[i][1]:
            a, b = _flat(ours[i][1]), _flat(ref[i][1])
            bad = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            slot = bad[0].split("[")[0].split("#")[0] if bad else "?"
            if any(k.endswith("#len") for k in bad):
                slot += " (item count)"
            return f"arg {ours[i][0]}.{slot}"
    failed = [c.name.split(":")[0] for c in rollout.checks if not c.passed]
    if failed and all(f == "output" for f in failed):
        return "answer"
    return "state (" + ",".join(sorted(set(failed))) + ")"


def print_breakdown(rows: list[tuple[TaskSpec, Rollout]]) -> None:
    by_kind: dict[str, list[float]] = defaultdict(list)
    causes: Counter[str] = Counter()
    kind_causes: dict[str, Counter[str]] = defaultdict(Counter)
    for task, rollout in rows:
        g = kind_group(task)
        by_kind[g].append(float(rollout.reward or 0.0))
        d = diagnose(task, rollout)
        if d != "ok":
            causes[d] += 1
            kind_causes[g][d] += 1
    print("  per kind (held-out, trained): success / tasks, top causes")
    for g, vals in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        top = ", ".join(f"{c} {n}" for c, n in kind_causes[g].most_common(3))
        print(f"    {g:<32} {sum(vals):>3.0f}/{len(vals):<3}  {top}")
    print("  failure causes (first differing write): " + json.dumps(dict(causes.most_common(12))))
    shown = [(t, r) for t, r in rows if diagnose(t, r) == "answer"][:6]
    for task, rollout in shown:  # what the answer missed: the required outputs beside the answer given
        missed = [c.name.split(":", 1)[1] for c in rollout.checks if not c.passed and c.name.startswith("output:")]
        final = rollout.messages[-1].content if rollout.messages else ""
        print(f"    answer missed {missed} ({kind_group(task)}): {(final or '')[:160]!r}")
