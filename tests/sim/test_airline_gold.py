"""The 50 tau-bench airline tasks as TaskSpecs, verified in the simulator."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.sim.replay import _Runner
from clawloop_synth.sim.verify import verify
from clawloop_synth.types import TaskSpec
from tests.sim.airline_data import gold_tasks, pack, state, traces


def _changes_db_or_needs_outputs(trajectories: Path, db: Path) -> set[str]:
    """Decided on the full database, independently of the TaskSpecs: run the gold actions, compare."""
    runner, full = _Runner(pack(db)), state(db)
    wanted = set()
    for trace in traces(trajectories):
        calls = [(a.name, a.arguments) for a in trace.gold_actions or []]
        work = pack(db).working_copy(full, pack(db).touched(full, calls))
        for name, args in calls:
            runner.run(work, name, args)
        if work != full or trace.gold_outputs:
            wanted.add(f"airline-gold-{trace.task_id}")
    return wanted


def test_fifty_tasks_with_sliced_state_and_gold_reference(airline_trajectories: Path, airline_db: Path) -> None:
    tasks = gold_tasks(airline_trajectories, airline_db)
    assert len(tasks) == 50 and len({t.id for t in tasks}) == 50
    by_id = {t.task_id: t for t in traces(airline_trajectories)}
    for task in tasks:
        assert TaskSpec.model_validate_json(task.model_dump_json()) == task
        source = by_id[task.id.removeprefix("airline-gold-")]
        assert [c.name for c in task.reference.calls] == [a.name for a in source.gold_actions or []]
        assert task.checks.required_outputs == source.gold_outputs
        assert len(task.provenance.source_trace_ids) == 4
        assert task.failure_exemplar is not None


def test_writing_or_output_tasks_pass_every_rule_others_are_solved_by_the_empty_run(
    airline_trajectories: Path, airline_db: Path
) -> None:
    wanted = _changes_db_or_needs_outputs(airline_trajectories, airline_db)
    assert len(wanted) == 31
    for task in gold_tasks(airline_trajectories, airline_db):
        report = verify(task)
        if task.id in wanted:
            assert report.ok, (task.id, [(r.rule, r.detail) for r in report.failed()])
        else:
            failed = {r.rule: r.detail for r in report.failed()}
            assert failed.get("empty_run_fails") == "solved by the empty run", (task.id, failed)
            assert set(failed) <= {"empty_run_fails", "exemplar_fails"}, (task.id, failed)
            assert {r.rule for r in report.rules if r.passed} >= {"reference_passes", "handlers_sound"}


def test_exemplar_is_a_failing_trial_when_one_exists(airline_trajectories: Path, airline_db: Path) -> None:
    rewards: dict[str, list[float | None]] = {}
    for trace in traces(airline_trajectories):
        rewards.setdefault(f"airline-gold-{trace.task_id}", []).append(trace.reward)
    for task in gold_tasks(airline_trajectories, airline_db):
        source = task.provenance.prompt_version or ""
        if any(r == 0.0 for r in rewards[task.id]):
            assert source.startswith("exemplar: tau-"), (task.id, source)
        else:
            assert "no failing trial" in source


def test_cli_writes_the_gold_tasks_for_sim_verify(airline_trajectories: Path, airline_db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clawloop_synth.cli import app

    out = tmp_path / "gold.jsonl"
    args = ["sim", "airline-gold", str(airline_trajectories), "--db", str(airline_db), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 50 and TaskSpec.model_validate_json(lines[0]).id == "airline-gold-0"
