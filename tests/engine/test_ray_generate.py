"""`generate --engine ray`: the gate's checks run on the cluster's workers, the accepted set is the local one.

During the Ray runs the driver's own ``examine`` and the gate's local worker process are replaced by ones
that fail, so a candidate checked anywhere but on the cluster (a fallback to the local path) fails the test.
The whole-run comparisons (demo, airline) are in ``test_ray.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.generate.journal import Reject
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.engine.compare import differences
from tests.fake_openai import FakeOpenAI
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import broken_handler, by_slot, good_drafts


@pytest.fixture
def engine(cluster: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    from clawloop_synth.engine import make_engine

    made = make_engine("ray")  # joins the session's cluster (not owned: close leaves it running)
    yield made
    made.close()


def _no_driver_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on a candidate checked in the driver, or in the gate's local worker process, fails the test."""
    from clawloop_synth.generate.workers import shutdown_examiner

    def examine(*_: Any) -> Any:
        raise AssertionError("a candidate was checked in the driver, not on a worker")

    monkeypatch.setattr("clawloop_synth.generate.gate.examine", examine)
    shutdown_examiner()  # the local runs' gate process
    monkeypatch.setattr("clawloop_synth.generate.workers._FACTORY", examine)


@pytest.mark.parametrize("threshold", [0.95, 0.8])
def test_procedural_candidates_are_checked_on_workers_and_the_accepted_set_is_the_local_one(
        engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: float) -> None:
    # At 0.8 the hashing embedder finds near-duplicates: the driver asks workers for a cluster's next candidates.
    config = GenerateConfig(domain="demo", per_cluster=4, threshold=threshold)
    local = run_generate(make_workdir(tmp_path / "local"), config)
    _no_driver_checks(monkeypatch)
    on_ray = run_generate(make_workdir(tmp_path / "ray"), config, engine=engine)
    assert on_ray["accepted"] == local["accepted"] > 0
    if threshold < 0.95:
        assert local["rejected_by_reason"].get("near_duplicate", 0) > 0
    # same tasks and rejects, row by row in order, and the same journal line by line
    assert differences(tmp_path / "local", tmp_path / "ray", only=("tasks", "rejects", "generate")) == []


def _llm_config(server: FakeOpenAI, **kw: Any) -> GenerateConfig:
    settings: dict[str, Any] = {"domain": "demo", "per_cluster": 3, "generator": "llm", "clusters": ["c00"],
                                "model": "openai/fake-model", "api_base": server.base_url, "api_key": "sk-test",
                                "retry_wait": 0.01, "timeout": 5.0, "concurrency": 4}
    return GenerateConfig(**{**settings, **kw})


def _outcome(workdir: Path) -> tuple[list[str], list[tuple[str, str]]]:
    # LLM chains finish in any order (on either engine): compared as sets
    accepted = sorted(t.id for t in load_records(workdir / "tasks", TaskSpec))
    rejected = sorted((r.id, r.reason) for r in load_records(workdir / "rejects", Reject))
    return accepted, rejected


def test_llm_candidates_are_checked_on_workers_and_the_accepted_set_is_the_local_one(
        engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drafts = good_drafts()
    # slot 1's draft (and each repair of it) has a crashing handler: rejected by verify on both engines
    with FakeOpenAI(default=by_slot([drafts[0], broken_handler(drafts[1]), *drafts[2:]])) as server:
        local = run_generate(make_workdir(tmp_path / "local"), _llm_config(server))
        _no_driver_checks(monkeypatch)
        on_ray = run_generate(make_workdir(tmp_path / "ray"), _llm_config(server), engine=engine)
    assert on_ray["accepted"] == local["accepted"] == 3
    assert _outcome(tmp_path / "ray") == _outcome(tmp_path / "local")
    assert [key for key, _ in _outcome(tmp_path / "ray")[1]] == ["demo-c00-0001", "demo-c00-0001-r1",
                                                                 "demo-c00-0001-r2"]


def test_the_generate_budget_holds_on_ray(engine: Any, tmp_path: Path) -> None:
    with FakeOpenAI(default=by_slot(good_drafts()), delay=0.05) as server:
        summary = run_generate(make_workdir(tmp_path), _llm_config(server, per_cluster=8, max_requests=2),
                               engine=engine)
        assert server.count == 2  # the budget, not the clusters' wants, ended the run
    assert summary["stopped"] and "max_requests=2" in summary["stopped"]
