"""Replaying the 200 real airline trajectories against the pack (the issue's must-show figures)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.sim.replay import outputs_found, rename_keys, replay_traces
from tests.sim.airline_data import pack, state, traces


def test_replay_reproduces_recorded_results_and_rewards(airline_trajectories: Path, airline_db: Path) -> None:
    report = replay_traces(traces(airline_trajectories), pack(airline_db), state(airline_db))
    assert report.trajectories == 200 and report.tool_results_total == 1164
    assert report.tool_results_equal / report.tool_results_total >= 0.95
    assert report.trajectories_with_reward == 200
    assert report.reward_agreement is not None and report.reward_agreement >= 0.95
    # The database renamed address.province to address.state after recording; those results count.
    assert report.key_aliases == {"state": "province"} and report.equal_only_after_key_alias > 0
    assert set(report.by_tool) == {s.call.name for t in traces(airline_trajectories) for s in t.tool_steps()}


def test_replay_leaves_the_loaded_database_untouched(airline_trajectories: Path, airline_db: Path) -> None:
    base = pack(airline_db).load_state()
    before = json.dumps(base, sort_keys=True)
    writers = [
        t
        for t in traces(airline_trajectories)
        if any(a.name.startswith(("book", "cancel", "update")) for a in t.gold_actions or [])
    ][:20]
    replay_traces(writers, pack(airline_db), base)
    assert json.dumps(base, sort_keys=True) == before


def test_rename_keys_and_outputs_rule() -> None:
    assert rename_keys({"a": [{"state": "TX"}], "state": 1}, {"state": "province"}) == {
        "a": [{"province": "TX"}],
        "province": 1,
    }
    from clawloop_synth.types import Message, Trace

    trace = Trace(id="t", source="tau_bench", messages=[Message(role="assistant", content="Total: 23,553 dollars")])
    assert outputs_found(["23553"], trace) and not outputs_found(["999"], trace) and outputs_found([], trace)


def test_cli_prints_the_figures_as_json(airline_trajectories: Path, airline_db: Path) -> None:
    result = CliRunner().invoke(
        app, ["sim", "replay", str(airline_trajectories), "--domain", "airline", "--db", str(airline_db), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    for key in (
        "tool_results_total",
        "tool_results_equal",
        "reward_agreement",
        "trajectories",
        "seconds",
        "equal_only_after_key_alias",
    ):
        assert key in figures
    assert figures["trajectories"] == 200


def test_cli_without_db_is_one_clear_error(airline_trajectories: Path) -> None:
    result = CliRunner().invoke(app, ["sim", "replay", str(airline_trajectories), "--domain", "airline"])
    assert result.exit_code != 0
    assert "--db" in str(result.exception) or "--db" in result.output
