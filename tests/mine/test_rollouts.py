"""Rollouts are traces again: `mine --traces rollouts` reads what the rollout stage saved."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.agents import FlawedAgent, ReferenceAgent, run_agent
from clawloop_synth.demo.tasks import build_demo_tasks
from clawloop_synth.mine.stage import run_mine
from clawloop_synth.store import load_records, save_records
from clawloop_synth.types import Failure, Rollout


def test_mine_reads_rollouts_without_touching_trace_failures(tmp_path: Path) -> None:
    tasks = build_demo_tasks(n=6, seed=1)
    agents = [ReferenceAgent(), FlawedAgent({"premature_finish": 1.0}, seed=0)]
    rollouts = [run_agent(agent, task) for agent in agents for task in tasks]
    save_records(tmp_path / "rollouts", rollouts)
    summary = run_mine(tmp_path, source="rollouts")
    assert summary["source"] == "rollouts" and summary["traces"] == 12
    failed = {r.id for r in rollouts if (r.reward or 0) < 0.5}
    assert summary["failed_traces"] == len(failed) == 6
    failures = list(load_records(tmp_path / "rollout_failures", Failure))
    assert {f.trace_id for f in failures} == failed
    assert (tmp_path / "mine_rollouts.json").exists() and not (tmp_path / "failures").exists()
    assert all(isinstance(r, Rollout) for r in load_records(tmp_path / "rollouts", Rollout))
