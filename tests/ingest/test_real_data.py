"""Ingest of the real public traces: the figures the issue names."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.ingest import iter_traces
from clawloop_synth.store import load_records
from clawloop_synth.types import Trace
from tests.ingest.helpers import cli_json


def test_airline_trajectories_through_the_cli(airline_trajectories: Path, tmp_path: Path) -> None:
    summary = cli_json("ingest", "-i", airline_trajectories, "-w", tmp_path / "w")
    assert summary["traces"] == 200
    assert summary["reward"]["zero"] == 116
    assert summary["tool_results"] == 1164
    assert summary["tool_result_errors"] == 73
    assert summary["gold"]["actions"] == 200
    assert summary["skipped"] == 0
    traces = list(load_records(tmp_path / "w" / "traces", Trace))
    assert len(traces) == 200 and len({t.id for t in traces}) == 200
    assert all(t.instruction and t.domain == "airline" for t in traces)


def test_airline_tool_steps_pair_every_call(airline_trajectories: Path) -> None:
    steps = [step for trace in iter_traces([airline_trajectories]) for step in trace.tool_steps()]
    assert len(steps) == 1164
    assert all(step.result is not None for step in steps)
    errors = [step for step in steps if step.is_error]
    assert len(errors) == 73 and all(step.result.startswith("Error") for step in errors)  # type: ignore[union-attr]


def test_who_and_when_gold_labels(shared_datasets: Path, tmp_path: Path) -> None:
    folder = shared_datasets / "who-and-when" / "hand-crafted"
    summary = cli_json("ingest", "-i", folder, "-w", tmp_path / "w")
    assert summary["traces"] == 58
    assert summary["gold"]["failure_labels"] == 58
    traces = {t.id: t for t in iter_traces([folder])}
    one = traces["whowhen-1"]
    assert one.gold_failure is not None and one.gold_failure.agent == "WebSurfer" and one.gold_failure.step == 12
    # The annotated step indexes messages directly, and the acting agent's name is kept.
    assert one.messages[one.gold_failure.step].name == "WebSurfer"
