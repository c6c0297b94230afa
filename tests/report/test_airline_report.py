"""The report of a small airline run (real tau-bench trajectories and database), rendered in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clawloop_synth.report import SECTIONS
from tests.report.chromium import open_page


@pytest.fixture(scope="module")
def airline_run(tmp_path_factory: pytest.TempPathFactory, airline_trajectories: Path, airline_db: Path) -> Path:
    from clawloop_synth.pipeline import RunConfig, run_pipeline

    workdir = tmp_path_factory.mktemp("report-airline") / "w"
    run_pipeline(workdir, RunConfig(inputs=[airline_trajectories], domain="airline", db=airline_db, per_cluster=2,
                                    attempts=1))
    return workdir


def test_airline_report_renders_every_section(airline_run: Path, tmp_path: Path) -> None:
    summary = json.loads((airline_run / "report.json").read_text())
    assert summary["empty_sections"] == [] and summary["sections"] == [key for key, _ in SECTIONS]
    page = open_page(airline_run / "report" / "index.html", tmp_path / "airline.png")
    print(f"screenshot: {page.screenshot}")
    assert not page.console, page.console
    assert f'data-ready="{len(SECTIONS)}"' in page.dom
    for key, _title in SECTIONS:
        body = re.search(rf'<section id="{key}" data-section="{key}">(.*?)</section>', page.dom, re.S)
        assert body and 'class="means"' in body.group(1) and 'class="missing"' not in body.group(1), key
    assert "tau_bench" in page.dom  # the input's format
    accepted = json.loads((airline_run / "generate.json").read_text())["accepted"]
    assert page.dom.count("<tr data-kind=") == accepted > 10
    assert page.dom.count('class="conv example"') >= 3 and "failure located here" in page.dom
