"""The built wheel works on its own: prompts, schemas and the demo data ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_data_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(REPO)], check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("clawloop_synth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("clawloop_synth/_data/schemas/") and n.endswith(".json") for n in names)
    assert any(n.startswith("clawloop_synth/_data/datasets/") for n in names)
    prompts = sorted(p.name for p in (REPO / "prompts").glob("*.jinja"))
    assert all(f"clawloop_synth/_data/prompts/{p}" in names for p in prompts)
    # The built-in packs are data folders inside the package, state and policy included.
    for pack in ("airline", "demo"):
        assert f"clawloop_synth/packs/{pack}/pack.toml" in names and f"clawloop_synth/packs/{pack}/tools.json" in names
    assert "clawloop_synth/packs/demo/state/patients.json" in names and "clawloop_synth/packs/demo/policy.md" in names

    # Install only the package (its dependencies come from this environment) and run it from a
    # folder that is not the checkout, so nothing can be found through the source tree.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import clawloop_synth, clawloop_synth.resources as r; "
            "print(clawloop_synth.__file__); print(r.schemas_dir()); print(r.prompts_dir())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, check=True).stdout.split()
    assert all(line.startswith(str(target)) for line in out)
    done = subprocess.run([sys.executable, "-m", "clawloop_synth", "run", "-w", str(tmp_path / "w")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "w" / "ingest.json").exists()
    assert (tmp_path / "w" / "report" / "index.html").is_file()  # the template ships in the wheel
