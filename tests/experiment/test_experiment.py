"""Experiments on a small slice of the demo traces: folds by task, pools from training folds only, CIs, A/A."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawloop_synth.experiment.folds import split, task_key
from clawloop_synth.experiment.stats import auc, paired, tasks_to_threshold
from clawloop_synth.types import Message, Trace

ROOT = Path(__file__).resolve().parents[2]


def _trace(i: int, task: str | None, instruction: str | None = None) -> Trace:
    return Trace(id=f"tr-{i}", source="openai_chat", task_id=task, domain="d", instruction=instruction,
                 messages=[Message(role="user", content="hi")])


def test_folds_keep_every_trial_of_a_task_together_and_cover_each_task_once() -> None:
    traces = [_trace(10 * t + k, f"task{t}") for t in range(12) for k in range(3)]
    traces += [_trace(500 + k, None, "the same words") for k in range(2)] + [_trace(900, None, None)]
    held_by_seed = []
    for seed in range(4):
        sp = split(traces, seed, k=4)
        train_keys = {task_key(t) for t in sp.train}
        held_keys = {task_key(t) for t in sp.held}
        assert not train_keys & held_keys
        assert len(sp.train) + len(sp.held) == len(traces)
        held_by_seed.append(held_keys)
    # k consecutive seeds are one k-fold cross-validation: each task held out exactly once
    every = [key for keys in held_by_seed for key in keys]
    assert sorted(every) == sorted({task_key(t) for t in traces})
    with pytest.raises(ValueError):
        split([_trace(1, "only")], 0)


def test_paired_ci_and_curve_summaries() -> None:
    better = paired([0.5, 0.6, 0.55, 0.62, 0.58], [0.3, 0.35, 0.32, 0.4, 0.31])
    assert better["excludes_zero"] and better["mean"] > 0
    noise = paired([0.5, 0.3, 0.6, 0.4, 0.5], [0.4, 0.5, 0.5, 0.45, 0.5])
    assert not noise["excludes_zero"]
    assert paired([None, 0.5], [0.2, 0.1])["per_seed"] == [0.4]
    assert auc([0, 10], [0.0, 1.0]) == pytest.approx(0.5)
    assert auc([0, 0], [0.0, 1.0]) is None
    assert tasks_to_threshold([0, 5, 10], [0.0, 0.4, 0.8], 0.4) == 5
    assert tasks_to_threshold([0, 5], [0.0, 0.1], 0.5) is None


@pytest.fixture(scope="module")
def demo_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory with the demo traces of 6 real tasks (48 traces) ingested, in the demo pack."""
    from clawloop_synth.ingest.stage import run_ingest

    root = tmp_path_factory.mktemp("exp")
    rows = [json.loads(line) for line in (ROOT / "datasets" / "demo" / "traces.jsonl").read_text().splitlines()]
    tasks = sorted({r["task_id"] for r in rows})[:6]
    source = root / "slice.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows if r["task_id"] in tasks))
    workdir = root / "w"
    run_ingest([source], workdir)
    (workdir / "pack.json").write_text(json.dumps({"stage": "pack", "pack": "demo", "db": None, "how": "given"}))
    return workdir


def test_targeting_and_curriculum_end_to_end_on_demo(demo_slice: Path) -> None:
    from clawloop_synth.experiment.stage import ExperimentConfig, run_experiment
    from clawloop_synth.rollout import load_tasks
    from clawloop_synth.store import load_records

    common = dict(seeds=2, budget=2, points=1, eval_size=2, folds=2, probe=2)
    result = run_experiment(demo_slice, ExperimentConfig(question="targeting", **common))  # type: ignore[arg-type]
    assert set(result["final_success"]) == {"targeted", "random", "random_aa"}  # demo traces carry no gold
    assert "aa_final" in result and "ci95" in result["aa_final"]
    for row in result["seeds"]:
        assert [p["tasks"] for p in row["arms"]["targeted"]] == [0, 2]
    # training pools come from the training folds' traces only; the evaluation set from the held-out ones
    traces = list(load_records(demo_slice / "traces", Trace))
    for seed in range(2):
        sp = split(traces, seed, k=2)
        train_ids, held_ids = {t.id for t in sp.train}, {t.id for t in sp.held}
        base = demo_slice / "experiment" / f"seed{seed}"
        for task in load_tasks(base / "train_targeted"):
            assert set(task.provenance.source_trace_ids) <= train_ids
        for task in load_tasks(base / "held"):
            assert set(task.provenance.source_trace_ids) <= held_ids
        assert {t.id for t in load_records(base / "train_targeted" / "traces", Trace)} == train_ids
    cur = run_experiment(demo_slice, ExperimentConfig(question="curriculum", **common))  # type: ignore[arg-type]
    assert set(cur["final_success"]) == {"random", "fixed", "difficulty", "learnability", "plr", "random_aa"}
    assert set(cur["tasks_to_threshold"]) == set(cur["final_success"])
    saved = json.loads((demo_slice / "experiment.json").read_text())
    assert set(saved) == {"targeting", "curriculum"}
    for question in ("targeting", "curriculum"):
        assert (demo_slice / f"experiment_{question}.png").read_bytes()[:4] == b"\x89PNG"
    # the report draws them
    from clawloop_synth.report.gather import _experiments, summaries

    drawn = _experiments(demo_slice, summaries(demo_slice))
    assert sorted(e["name"] for e in drawn) == ["experiment curriculum", "experiment targeting"]
    assert all(e["figure"] and e["figure"].startswith("data:image/png") for e in drawn)


def test_cli_names_a_bad_question_in_one_line(demo_slice: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "clawloop_synth", "experiment", "nonsense", "-w", str(demo_slice)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1
    assert "unknown experiment 'nonsense'" in out.stderr and "Traceback" not in out.stderr


def test_llm_learner_runs_a_targeting_experiment_over_http(demo_slice: Path) -> None:
    """The in-context learner, end to end through the LLM seam against the scripted server (pools are cached)."""
    from clawloop_synth.experiment.stage import ExperimentConfig, run_experiment
    from clawloop_synth.rollout import load_tasks
    from tests.fake_openai import FakeOpenAI
    from tests.learn.test_llm_and_command import replaying_model

    with FakeOpenAI(replaying_model) as server:
        config = ExperimentConfig(question="targeting", learner="llm", model="openai/fake", api_base=server.base_url,
                                  seeds=2, budget=2, points=1, eval_size=2, folds=2)
        result = run_experiment(demo_slice, config)
        sent = json.dumps(server.requests)
    assert result["config"]["learner"] == "llm"
    assert set(result["final_success"]) == {"targeted", "random", "random_aa"}
    assert "ci95" in result["aa_final"]
    agent_turns = [r for r in server.requests if r.get("tools")]
    distills = [r for r in server.requests if not r.get("tools")]
    assert agent_turns and distills, "the learner played and distilled over HTTP"
    assert any("Lessons from earlier practice" in r["messages"][0]["content"] for r in agent_turns)
    # nothing of what a learner may not see crossed the wire: cluster ids, target codes, provenance, or the
    # reference answers of evaluation tasks
    for seed in range(2):
        base = demo_slice / "experiment" / f"seed{seed}"
        # a training task may have the very same answer as a held-out one (the same clinic state): that one is
        # training data the learner was handed, not a leak
        trained = {t.reference.answer for kind in ("train_targeted", "train_random") for t in load_tasks(base / kind)}
        for task in load_tasks(base / "held"):
            assert task.id not in sent and (task.target_cluster or "@@") not in sent
            assert task.reference.answer in trained or task.reference.answer not in sent
        for task in load_tasks(base / "train_targeted"):
            assert task.id not in sent and (task.target_code or "@@") not in sent
            assert all(t not in sent for t in task.provenance.source_trace_ids)
