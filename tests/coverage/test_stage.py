"""Text views and the ``coverage`` stage over a work directory built here with save_records."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.coverage.stage import cluster_coverage, run_coverage
from clawloop_synth.coverage.views import task_view, trace_view
from clawloop_synth.errors import InputError
from clawloop_synth.store import save_records
from clawloop_synth.types import (
    Failure,
    FailureCluster,
    Message,
    PlannedCall,
    Provenance,
    Solution,
    TaskFeatures,
    TaskSpec,
    ToolCall,
    ToolSpec,
    Trace,
)

GOALS = ["change my flight to {c}", "cancel reservation {c}", "book a flight to {c}", "add a bag on {c}"]
PLANS = [["get_user", "update_flight", "update_flight"], ["get_user", "cancel"], ["search", "book"],
         ["get_user", "add_bag"]]
CODES = ["agent/action/wrong_argument", "agent/policy/skipped_confirmation", "agent/action/wrong_tool"]


def make_trace(i: int) -> Trace:
    kind = i % len(GOALS)
    messages = [Message(role="user", content=GOALS[kind].format(c=f"city{i}"))]
    for j, name in enumerate(PLANS[kind]):
        messages.append(Message(role="assistant", tool_calls=[ToolCall(id=f"c{j}", name=name)]))
        messages.append(Message(role="tool", tool_call_id=f"c{j}", content="{}", name=name))
    return Trace(id=f"t{i}", source="openai_chat", messages=messages)


def make_task(i: int, cluster: str) -> TaskSpec:
    kind = i % len(GOALS)
    tool = ToolSpec(name="noop", description="", parameters={"type": "object"},
                    handler="def invoke(state):\n  return {}")
    return TaskSpec(
        id=f"task{i}", domain="demo", instruction=GOALS[kind].format(c=f"town{i}"), tools=[tool], initial_state={},
        reference=Solution(calls=[PlannedCall(name=n) for n in PLANS[kind]]), target_cluster=cluster,
        target_code=CODES[i % 2], provenance=Provenance(generator="test"),
        features=TaskFeatures(failure_codes=[CODES[i % 2]]))


def failure(i: int) -> Failure:
    return Failure(id=f"f{i}", trace_id=f"t{i}", step=1, code=CODES[i % 3], signal="error_result", card="x")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    save_records(tmp_path / "traces", [make_trace(i) for i in range(60)])
    save_records(tmp_path / "failures", [failure(i) for i in range(0, 60, 2)])
    save_records(tmp_path / "clusters", [
        FailureCluster(id=f"c{j:02d}", label=f"mode {j}", codes=[CODES[j]], size=10, member_ids=[], exemplar_ids=[])
        for j in range(3)])
    save_records(tmp_path / "tasks", [make_task(i, "c00" if i % 3 else "c01") for i in range(30)])
    return tmp_path


def test_trace_and_task_views_share_one_format() -> None:
    trace = make_trace(0)
    view = trace_view(trace, [failure(0), failure(3)], writes={"update_flight"})
    assert view.goal == "chang flight <ID>"
    assert view.calls == ("get_user", "update_flight")  # the retry is collapsed
    assert view.writes == ("update_flight",)
    assert view.failure_codes == ("agent/action/wrong_argument",)
    task = task_view(make_task(0, "c00"), writes={"update_flight"})
    assert task.render().splitlines() == ["goal: chang flight <ID>", "calls: get_user > update_flight",
                                          "writes: update_flight", "failures: agent/action/wrong_argument"]
    assert trace_view(trace.model_copy(update={"instruction": "the goal"})).goal == "goal"
    assert trace_view(Trace(id="e", source="openai_chat", messages=[])).render() == \
        "goal: none\ncalls: none\nwrites: none\nfailures: none"


def test_cluster_coverage_counts_tasks_and_names_uncovered() -> None:
    clusters = [FailureCluster(id=c, label=c, codes=[], size=1, member_ids=[], exemplar_ids=[])
                for c in ("c00", "c01", "noise")]
    tasks = [make_task(0, "c00"), make_task(1, "c00"), make_task(2, "zz"), make_task(3, "c00")]
    tasks[3] = tasks[3].model_copy(update={"target_cluster": None})
    out = cluster_coverage(clusters, tasks)
    assert [row["tasks"] for row in out["clusters"]] == [2, 0, 0]
    assert out["uncovered"] == ["c01"] and out["covered_share"] == 0.5
    assert out["untargeted_tasks"] == 1 and out["unknown_cluster_tasks"] == 1


def test_stage_writes_json_and_plots(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["coverage", "-w", str(workdir), "--json", "--k", "3"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    stored = json.loads((workdir / "coverage.json").read_text())
    assert printed["precision"] == stored["precision"] and stored["k"] == 3
    assert stored["n_real"] == 60 and stored["n_synthetic"] == 30 and stored["exact"] is True
    assert 0.0 <= stored["precision"] <= 1.0 and stored["vendi"]["synthetic"] >= 1.0
    assert stored["gap_fill"]["n_holdout"] == 12
    assert stored["per_cluster"]["uncovered"] == ["c02"]
    projection = ET.fromstring((workdir / "coverage_projection.svg").read_text())
    assert projection.tag.endswith("svg")
    dots = [e for e in projection.iter() if e.tag.endswith("circle")]
    assert len(dots) == 30 + 1  # one per task, and the legend's
    bars = ET.fromstring((workdir / "coverage_clusters.svg").read_text())
    titles = [e.text or "" for e in bars.iter() if e.tag.endswith("title")]
    assert len(titles) == len(stored["per_cluster"]["clusters"])
    assert any(t.startswith("c02") and t.endswith(": 0") for t in titles)  # the uncovered cluster, no tasks
    red = [e for e in bars.iter() if e.tag.endswith("rect") and e.get("fill") == "#d62728"]
    assert len(red) == 1
    assert json.loads((workdir / "manifest.json").read_text())["coverage"]["counts"] == {"traces": 60, "tasks": 30}


@pytest.mark.parametrize("missing", ["traces", "failures", "clusters", "tasks"])
def test_missing_inputs_are_input_errors(workdir: Path, missing: str) -> None:
    import shutil

    shutil.rmtree(workdir / missing)
    with pytest.raises(InputError, match=f"no {missing} dataset"):
        run_coverage(workdir, plots=False)


def test_a_small_run_measures_with_the_k_its_sets_allow(workdir: Path) -> None:
    save_records(workdir / "tasks", [make_task(i, "c00") for i in range(3)])
    summary = run_coverage(workdir, plots=False)
    assert summary["k"] == 2 and summary["k_requested"] == 5 and summary["n_synthetic"] == 3
    assert 0.0 <= summary["recall"] <= 1.0


def test_a_single_task_is_an_input_error(workdir: Path) -> None:
    save_records(workdir / "tasks", [make_task(0, "c00")])
    with pytest.raises(InputError, match="at least 2 traces and 2 tasks"):
        run_coverage(workdir, plots=False)
