"""`induce --engine ray`: the tools' handler fits run on the cluster's workers, the pack is the local one.

During the Ray runs the driver's own handler fit and its contained child are replaced by ones that fail, so a
fit run anywhere but on the cluster's workers fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.engine.compare import differences
from tests.induce.test_cli import _write as write_bank_traces


def _induce(*args: str) -> None:
    from clawloop_synth.cli import app

    result = CliRunner().invoke(app, ["induce", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _no_driver_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: Any, **__: Any) -> Any:
        raise AssertionError("a handler was fitted in the driver, not on a worker")

    monkeypatch.setattr("clawloop_synth.induce.fit.induce_handler", fail)
    monkeypatch.setattr("clawloop_synth.induce.stage.run_contained", fail)


def test_airline_pack_induced_on_ray_is_the_local_pack(cluster: None, tmp_path: Path, airline_trajectories: Path,
                                                       airline_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first 40 trajectories (every tool is called; the whole file takes minutes on a loaded machine)
    subset = tmp_path / "airline.json"
    subset.write_text(json.dumps(json.loads(airline_trajectories.read_text())[:40]))
    args = ["-i", str(subset), "--db", str(airline_db)]
    # the same folder name: the pack is named after it
    _induce(*args, "-o", str(tmp_path / "local" / "airline"))
    _no_driver_fit(monkeypatch)
    _induce(*args, "-o", str(tmp_path / "ray" / "airline"), "--engine", "ray")
    assert (tmp_path / "ray" / "airline" / "handlers").is_dir()
    assert differences(tmp_path / "local", tmp_path / "ray") == []


def test_a_pack_whose_state_is_reconstructed_on_ray_is_the_local_pack(cluster: None, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # no database: the state comes from read results, and is reconstructed again once the writes are known
    traces = write_bank_traces(tmp_path)
    _induce("-i", str(traces), "-o", str(tmp_path / "local" / "bank"))
    _no_driver_fit(monkeypatch)
    _induce("-i", str(traces), "-o", str(tmp_path / "ray" / "bank"), "--engine", "ray", "--workers", "2")
    assert differences(tmp_path / "local", tmp_path / "ray") == []
