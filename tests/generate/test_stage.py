"""The generate stage and its gate, offline, with a small templates generator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.generate.base import Candidate, GenerationRequest, Judge
from clawloop_synth.generate.gate import Gate, exemplar_trace, mined_codes
from clawloop_synth.generate.journal import Reject
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.generate.views import task_view
from clawloop_synth.sim import verify
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.generate.helpers import CODES, TemplatesGenerator, make_workdir


def _config(**kw: object) -> GenerateConfig:
    return GenerateConfig(domain="demo", per_cluster=3, **kw)  # type: ignore[arg-type]


def test_stage_accepts_verified_targeted_tasks_and_keeps_rejects(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    events: list[dict[str, object]] = []
    summary = run_generate(work, _config(), progress=events.append, generator=TemplatesGenerator())
    assert summary["accepted"] == 9 and summary["rejected"] == 3
    assert summary["rejected_by_reason"] == {"verify:exemplar_fails": 3}
    tasks = list(load_records(work / "tasks", TaskSpec))
    assert len(tasks) == 9 and len({t.id for t in tasks}) == 9
    for task in tasks:  # read back from the saved dataset: verified and targeted
        assert verify(task).ok
        assert CODES[task.target_cluster or ""] in mined_codes(task)
    rejects = list(load_records(work / "rejects", Reject))
    assert {r.reason for r in rejects} == {"verify:exemplar_fails"} and all(r.task for r in rejects)
    saved = json.loads((work / "generate.json").read_text())
    assert [c["accepted"] for c in saved["clusters"]] == [3, 3, 3]
    assert events[-1]["accepted"] == 9 and events[-1]["rejected"] == 3


def test_rerun_resumes_from_the_journal_without_judging_again(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    first = run_generate(work, _config(), generator=TemplatesGenerator())
    journal = work / "generate" / "journal.jsonl"
    size = journal.stat().st_size
    second = run_generate(work, _config(), generator=TemplatesGenerator())
    assert journal.stat().st_size == size  # nothing judged twice
    assert second["resumed_candidates"] == first["accepted"] + first["rejected"]
    assert [t.id for t in load_records(work / "tasks", TaskSpec)] == [t.id for t in
                                                                       load_records(work / "tasks", TaskSpec)]
    # more per cluster: the finished clusters are extended, the old candidates keep their verdicts
    third = run_generate(work, GenerateConfig(domain="demo", per_cluster=4), generator=TemplatesGenerator())
    assert third["accepted"] == 12


def test_torn_last_line_is_dropped_and_the_candidate_judged_again(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    full = run_generate(work, _config(), generator=TemplatesGenerator())
    journal = work / "generate" / "journal.jsonl"
    lines = journal.read_bytes().split(b"\n")
    journal.write_bytes(b"\n".join(lines[:5]) + b"\n" + lines[5][:20])  # killed mid-write
    again = run_generate(work, _config(), generator=TemplatesGenerator())
    assert again["resumed_candidates"] == 4
    assert again["accepted"] == full["accepted"] and again["rejected"] == full["rejected"]


def test_other_config_starts_a_fresh_journal(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    run_generate(work, _config(), generator=TemplatesGenerator())
    other = run_generate(work, _config(seed=1), generator=TemplatesGenerator())
    assert other["resumed_candidates"] == 0


def test_other_clusters_or_a_fresh_run_start_a_fresh_journal(tmp_path: Path) -> None:
    from clawloop_synth.store import save_records
    from clawloop_synth.types import FailureCluster

    work = make_workdir(tmp_path)
    run_generate(work, _config(), generator=TemplatesGenerator())
    assert run_generate(work, _config(), generator=TemplatesGenerator(), fresh=True)["resumed_candidates"] == 0
    # the same cluster ids over other failures (a re-run on new traces): nothing of the old run is kept
    clusters = list(load_records(work / "clusters", FailureCluster))
    clusters[0] = clusters[0].model_copy(update={"size": clusters[0].size + 1})
    save_records(work / "clusters", clusters)
    assert run_generate(work, _config(), generator=TemplatesGenerator())["resumed_candidates"] == 0


class _Fixed:
    """Proposes the given tasks in order."""

    name = "fixed"

    def __init__(self, tasks: list[TaskSpec]) -> None:
        self.tasks = tasks

    def propose(self, request: GenerationRequest, judge: Judge) -> Iterator[Candidate]:
        for n, task in enumerate(self.tasks):
            yield Candidate(task.model_copy(update={"id": f"{request.id_prefix}{n}"}))


def test_gate_reasons_policy_untargeted_and_near_duplicate(tmp_path: Path) -> None:
    base = [t for t in build_demo_tasks(20, 0) if t.target_code == CODES["c00"]][:2]
    hostile = base[1].model_copy(deep=True)
    hostile.tools[0].handler = "import os\ndef invoke(state, **args):\n    return os.listdir('/')\n"
    work = make_workdir(tmp_path)
    summary = run_generate(work, GenerateConfig(domain="demo", per_cluster=5, clusters=["c00", "c02"]),
                           generator=_Fixed([base[0], base[0], hostile]))
    c00, c02 = summary["clusters"]
    assert c00["accepted"] == 1
    assert c00["rejected_by_reason"] == {"near_duplicate": 1, "invalid_spec:handler_policy": 1}
    assert c02["rejected_by_reason"] == {"untargeted": 2, "invalid_spec:handler_policy": 1}
    assert "reason" in c00 and "reason" in c02  # fewer than 5: the summary says why


def test_exemplar_trace_has_gold_actions_and_outputs() -> None:
    task = next(t for t in build_demo_tasks(10, 0) if t.target_code == CODES["c00"])
    trace = exemplar_trace(task)
    writes = {s.name for s in task.tools if s.writes}
    assert [a.name for a in trace.gold_actions or []] == [c.name for c in task.reference.calls if c.name in writes]
    assert trace.gold_outputs == task.checks.required_outputs and trace.reward == 0.0
    assert len(trace.tool_steps()) == len(task.failure_exemplar.calls)  # type: ignore[union-attr]


def test_gate_is_near_duplicate_aware_and_view_is_documented() -> None:
    task = build_demo_tasks(1, 0)[0]
    view = task_view(task)
    assert view.startswith("instruction: ") and "call: " in view
    gate = Gate()
    assert gate.judge(task, task.target_code).accepted
    again = gate.judge(task.model_copy(update={"id": "other"}), task.target_code)
    assert again.reason == "near_duplicate" and "cosine 1.000" in again.detail
