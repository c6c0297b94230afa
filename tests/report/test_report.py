"""The report of a demo run: every section rendered in headless Chromium, trace text inert, the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from markupsafe import escape

from clawloop_synth.report import SECTIONS, run_report
from tests.report.chromium import open_page
from tests.report.conftest import PLANT

REPO = Path(__file__).resolve().parents[2]


def _section(dom: str, key: str) -> str:
    match = re.search(rf'<section id="{key}" data-section="{key}">(.*?)</section>', dom, re.S)
    assert match, f"section {key} not in the page"
    return match.group(1)


def test_run_ends_with_the_report_path(demo_run: tuple[Path, str]) -> None:
    workdir, output = demo_run
    last = output.strip().splitlines()[-1]
    assert last.startswith("report: ") and str(workdir / "report" / "index.html") in last
    assert (workdir / "report" / "index.html").is_file() and (workdir / "report.json").is_file()


def test_every_section_renders_in_chromium_with_no_script_error(demo_run: tuple[Path, str], tmp_path: Path) -> None:
    workdir, _ = demo_run
    page = open_page(workdir / "report" / "index.html", tmp_path / "report.png")
    print(f"screenshot: {page.screenshot}")
    assert not page.console, page.console
    assert f'data-ready="{len(SECTIONS)}"' in page.dom, "the page's script did not finish"
    assert 'id="js-errors" hidden' in page.dom
    for key, _title in SECTIONS:
        body = _section(page.dom, key)
        assert 'class="means"' in body, f"{key}: no sentence saying what it shows"
        assert 'class="missing"' not in body, f"{key}: says its stage has not run"
    failures = _section(page.dom, "failures")
    assert failures.count('class="conv example"') >= 3 and failures.count("msg") > 20
    assert "failure located here" in failures
    tasks = _section(page.dom, "tasks")
    accepted = json.loads((workdir / "generate.json").read_text())["accepted"]
    assert accepted > 10 and tasks.count("<tr data-kind=") == accepted and "reference_passes" in tasks
    assert "Recall" in _section(page.dom, "coverage")
    assert page.dom.count('src="data:image/svg+xml;base64,') >= 7
    assert page.screenshot.stat().st_size > 10_000
    assert "evaluate" not in [key for key, _ in SECTIONS] and 'id="evaluate"' not in page.dom


def test_planted_script_in_the_traces_is_inert(demo_run: tuple[Path, str], tmp_path: Path) -> None:
    workdir, _ = demo_run
    source = (workdir / "report" / "index.html").read_text()
    assert PLANT not in source and "<img src=x" not in source
    assert str(escape(PLANT)) in source, "the trace text is not shown (escaped)"
    assert source.count("<script") == 1
    page = open_page(workdir / "report" / "index.html", tmp_path / "planted.png", size="1200,2000")
    assert "data-pwned" not in re.search(r"<body[^>]*>", page.dom).group(0)
    assert page.dom.count("<script") == 1 and not page.console


def test_evaluate_and_experiment_sections_appear_once_their_summaries_exist(demo_run: tuple[Path, str],
                                                                            tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    shutil.copytree(demo_run[0], workdir)
    shutil.copy(workdir / "coverage_clusters.svg", workdir / "evaluate_kinds.svg")
    (workdir / "evaluate.json").write_text(json.dumps({"stage": "evaluate", "plots": ["evaluate_kinds.svg"],
                                                       "shortcut_fails": 0.91, "unique_outcome": {"share": 0.8}}))
    (workdir / "experiment_targeted.json").write_text(json.dumps({
        "curves": {"targeted": [[0, 0.2], [1, 0.4], [2, 0.55]], "random": [[0, 0.2], [1, 0.3], [2, 0.35]]},
        "x_label": "round", "y_label": "held-out pass rate", "lift": 0.2}))
    summary = run_report(workdir)
    assert summary["sections"][-2:] == ["evaluate", "experiments"]
    page = open_page(workdir / "report" / "index.html", tmp_path / "extra.png")
    assert not page.console and f'data-ready="{len(SECTIONS) + 2}"' in page.dom
    evaluate, experiments = _section(page.dom, "evaluate"), _section(page.dom, "experiments")
    assert "shortcut_fails" in evaluate and "unique_outcome.share" in evaluate and "data:image/svg+xml" in evaluate
    assert "experiment_targeted" in experiments and "data:image/svg+xml" in experiments and "lift" in experiments


def test_report_of_a_work_directory_with_only_traces_says_what_has_not_run(tmp_path: Path) -> None:
    from clawloop_synth.ingest.stage import run_ingest
    from tests.report.conftest import planted_traces

    workdir = tmp_path / "w"
    run_ingest([planted_traces(tmp_path / "t.jsonl")], workdir)
    summary = run_report(workdir)
    assert summary["empty_sections"] == [key for key, _ in SECTIONS if key != "input"]
    source = (workdir / "report" / "index.html").read_text()
    assert source.count('class="missing"') == len(SECTIONS) - 1 and "320" in _section(source, "input")


def test_report_command(demo_run: tuple[Path, str], tmp_path: Path) -> None:
    env_cmd = [sys.executable, "-m", "clawloop_synth", "report", "-w"]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*env_cmd, str(demo_run[0])], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report: {demo_run[0] / 'report' / 'index.html'}"
    missing = subprocess.run([*env_cmd, str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=300,
                             env=env, cwd=tmp_path)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "nowhere" in missing.stderr and "Traceback" not in missing.stderr
