"""The interface libraries are optional extras: the CLI and the package load without importing them."""

from __future__ import annotations

import subprocess
import sys

from tests.interfaces.conftest import REPO

PROBE = """
import sys
from typer.testing import CliRunner
import clawloop_synth.cli
import clawloop_synth.interfaces, clawloop_synth.interfaces.binding, clawloop_synth.interfaces.export_env
from clawloop_synth.cli import app
for args in (["--help"], ["serve", "--help"], ["export", "--help"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(",".join(sorted(m for m in ("verifiers", "openenv", "mcp", "uvicorn", "fastapi") if m in sys.modules)))
"""


def test_cli_help_and_the_interfaces_package_import_none_of_the_libraries() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
