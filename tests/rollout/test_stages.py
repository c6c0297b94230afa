"""The rollout, difficulty and curriculum stages on a small work directory, and the CLI over them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.curriculum import STRATEGIES
from clawloop_synth.curriculum.stage import run_curriculum
from clawloop_synth.difficulty.stage import POOLED, load_rows, run_difficulty
from clawloop_synth.errors import InputError
from clawloop_synth.mine import MineStats, build_context, mine_traces
from clawloop_synth.rollout import load_rollouts, run_rollouts
from clawloop_synth.types import Trace
from tests.rollout.helpers import demo_tasks, make_workdir

N_TASKS, N_RATED = 30, 24


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 demo tasks; the scripted population ran 3 times on the first 24 of them."""
    wd = make_workdir(tmp_path_factory.mktemp("wd"), demo_tasks(N_TASKS))
    run_rollouts(wd, "scripted", k=3, concurrency=4, seed=0, max_tasks=N_RATED)
    return wd


def test_rollouts_are_saved_as_traces_the_miner_reads(workdir: Path) -> None:
    summary = json.loads((workdir / "rollout.json").read_text())
    assert summary["rollouts"] == 8 * N_RATED * 3 and summary["agents"]["reference"]["pass_rate"] == 1.0
    rollouts = list(load_rollouts(workdir))
    assert len(rollouts) == summary["rollouts"]
    assert all(isinstance(r, Trace) and r.source == "rollout" for r in rollouts)
    ctx = build_context(rollouts)
    stats = MineStats()
    failures = list(mine_traces(rollouts, ctx, stats))
    failed = {r.id for r in rollouts if r.reward is not None and r.reward < 0.5}
    assert failed and failures
    assert {f.trace_id for f in failures} <= {r.id for r in rollouts}
    assert len({f.trace_id for f in failures} & failed) >= 0.8 * len(failed)


def test_rollout_stage_is_deterministic(workdir: Path, tmp_path: Path) -> None:
    other = make_workdir(tmp_path, demo_tasks(N_TASKS))
    run_rollouts(other, "scripted", k=3, concurrency=1, seed=0, max_tasks=N_RATED)
    assert [r.model_dump() for r in load_rollouts(other)] == [r.model_dump() for r in load_rollouts(workdir)]


def test_difficulty_rates_rated_tasks_and_predicts_the_rest(workdir: Path) -> None:
    summary = run_difficulty(workdir, seed=0)
    assert summary["rated"] == N_RATED and summary["predicted"] == N_TASKS - N_RATED
    assert summary["irt"]["converged"]
    ability = summary["irt"]["ability"]
    assert ability["reference"] == max(ability.values())
    calibration = summary["calibration"]
    assert calibration["n_test"] == round(0.2 * N_RATED)
    assert set(calibration["spearman"]) == {"neighbours", "features", "combined"}
    rows = load_rows(workdir / "difficulty")
    assert len(rows) == N_TASKS
    predicted = [r for r in rows if r["difficulty_source"] == "predicted"]
    assert len(predicted) == N_TASKS - N_RATED
    assert all(r["pass_source"] == "predicted" and r["trials"] == 0 and r["difficulty_sd"] > 0 for r in predicted)
    assert all(r["predicted_neighbours"] is not None and r["predicted_features"] is not None for r in predicted)
    # Pass rates are the median-ability agent's own (3 attempts per task), not all 8 agents' pooled (24).
    assert summary["pass_rates_of"] == summary["pass_rates"]["agent"]
    assert summary["pass_rates"]["chosen_by"] == "median IRT ability" and summary["beta_prior"]["method"] == "irt"
    assert all(r["difficulty_source"] == "irt" and r["trials"] == 3 for r in rows if r["pass_source"] == "observed")
    assert summary["pass_rates"]["learnability"]["sd"] > 0
    assert json.loads((workdir / "difficulty.json").read_text())["rated"] == N_RATED


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_curriculum_orders_are_deterministic_and_recorded(workdir: Path, strategy: str) -> None:
    if not (workdir / "difficulty").is_dir():
        run_difficulty(workdir, seed=0)
    first = run_curriculum(workdir, strategy, seed=3)
    rows = load_rows(workdir / "curriculum" / strategy)
    again = run_curriculum(workdir, strategy, seed=3)
    assert load_rows(workdir / "curriculum" / strategy) == rows and first["first"] == again["first"]
    assert [r["rank"] for r in rows] == list(range(N_TASKS))
    assert {r["strategy"] for r in rows} == {strategy} and len({r["task_id"] for r in rows}) == N_TASKS
    table = first["comparison"]["strategies"]
    assert set(STRATEGIES) <= set(table) and "random_mean_of_20" in table
    assert table["difficulty"]["spearman_difficulty"] > 0.9
    if strategy == "learnability":
        scores = [r["score"] for r in rows]
        assert scores == sorted(scores, reverse=True)
        assert first["metrics"]["head_learnability"] == first["comparison"]["head_learnability_max"]


def test_curriculum_needs_the_difficulty_stage(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run the previous stage"):
        run_curriculum(make_workdir(tmp_path, demo_tasks(5)), "random")


def test_cli_runs_the_three_commands(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path, demo_tasks(12))
    runner = CliRunner()
    result = runner.invoke(app, ["rollout", "-w", str(wd), "--agents", "reference;flawed:premature_finish=0.6",
                                 "--agents", "flawed:skipped_lookup=0.9,name=skipper", "--k", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rollouts"] == 3 * 12 * 2
    result = runner.invoke(app, ["difficulty", "-w", str(wd), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rated"] == 12
    result = runner.invoke(app, ["curriculum", "-w", str(wd), "--strategy", "plr", "--param", "temperature=0.5"])
    assert result.exit_code == 0, result.output
    assert "plr" in result.output and "random_mean_of_20" in result.output
    assert json.loads((wd / "curriculum.json").read_text())["params"]["temperature"] == 0.5
    result = runner.invoke(app, ["rollout", "-w", str(wd), "--agents", "wizard"])
    assert result.exit_code != 0


def test_difficulty_pass_rates_of_one_agent(workdir: Path, tmp_path: Path) -> None:
    import shutil

    wd = tmp_path / "copy"
    shutil.copytree(workdir, wd)
    summary = run_difficulty(wd, seed=0, agent="flawed-3")
    assert summary["pass_rates_of"] == "flawed-3" and summary["rated"] == N_RATED
    rows = load_rows(wd / "difficulty")
    assert {r["trials"] for r in rows if r["pass_source"] == "observed"} == {3.0}
    with pytest.raises(InputError, match="no scored rollouts by agent"):
        run_difficulty(wd, agent="nobody")
    pooled = run_difficulty(wd, seed=0, agent=POOLED)  # the old pooling, kept for comparison
    assert pooled["pass_rates_of"] == "all agents" and pooled["beta_prior"]["method"] == "mle"
