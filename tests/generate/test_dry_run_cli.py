"""`generate --dry-run` through the real CLI: the estimate, a few lines, nothing logged as failed (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fake_openai import FakeOpenAI
from tests.generate.helpers import make_workdir

REPO = Path(__file__).resolve().parents[2]


def test_dry_run_prints_the_estimate_in_a_few_lines_and_sends_nothing(tmp_path: Path,
                                                                       fake_openai: FakeOpenAI) -> None:
    work = make_workdir(tmp_path / "wd")
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-test"}
    done = subprocess.run(
        [sys.executable, "-m", "clawloop_synth", "generate", "-w", str(work), "--domain", "demo", "--generator", "llm",
         "--model", "openai/fake-model", "--api-base", fake_openai.base_url, "--per-cluster", "5", "--dry-run"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode == 0, output
    lines = output.splitlines()
    assert len(lines) < 20, f"{len(lines)} lines"
    assert "failed" not in output.lower() and "retries" not in output.lower()
    assert "nothing was sent" in done.stdout
    assert "15 requests" in done.stdout and "prompt tokens" in done.stdout  # 3 clusters x 5 wanted tasks
    assert fake_openai.count == 0
