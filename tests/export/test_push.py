"""The push path against a local HTTP server standing in for the Hub (``HF_ENDPOINT``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from clawloop_synth.export import export_tasks
from tests.export.fake_hub import FakeHub
from tests.export.tiny import make_task, make_workdir

REPO = Path(__file__).resolve().parents[2]


def _cli(args: list[str], hub: FakeHub, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter: huggingface_hub and datasets read HF_ENDPOINT when they are imported.
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_fake_token", "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_HOME": str(cwd / "hf_home"),
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "clawloop_synth", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_push_sends_card_data_and_environment(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, [make_task(i, cluster=f"c{i % 3}") for i in range(10)])
    with FakeHub() as hub:
        done = _cli(["export", "-w", str(workdir), "--format", "rl", "--out", str(tmp_path / "out"),
                     "--push-to-hub", "me/tasks", "--private"], hub, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:] + str(hub.unknown)
        files = hub.repos["me/tasks"]
    assert hub.private["me/tasks"] is True and "hf_fake_token" in hub.tokens
    assert {"README.md", "environment.py", "tools.json"} <= set(files)
    parquet = [name for name in files if name.endswith(".parquet")]
    assert sorted(name.split("/")[1].split("-")[0] for name in parquet) == ["test", "train", "validation"]
    card = files["README.md"].decode()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert "synthetic" in meta["tags"] and "# clawloop-synth tool-use tasks (rl)" in card
    assert sum(s["num_examples"] for s in meta["dataset_info"]["splits"]) == 10


def test_stale_card_is_not_pushed(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, [make_task(i) for i in range(10)])
    out = tmp_path / "out"
    export_tasks(workdir, "hf", out)
    card = (out / "README.md").read_text().replace("- name: initial_state", "- name: old_state")
    (out / "README.md").write_text(card)
    from clawloop_synth.errors import InputError
    from clawloop_synth.export import push_export

    with FakeHub() as hub:
        try:
            push_export(out, "me/tasks", token="hf_fake_token")
        except InputError as exc:
            assert "does not match the data" in str(exc)
        else:
            raise AssertionError("a stale card was pushed")
        assert hub.requests == []
