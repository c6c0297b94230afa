"""The demo run the report tests share, on the embedded demo traces with a script planted in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Trace text is untrusted: if any of this ran, it would mark the page's body.
PLANT = ('<script>document.body.setAttribute("data-pwned", "script")</script>'
         '<img src=x onerror="document.body.setAttribute(\'data-pwned\', \'img\')">')


def planted_traces(path: Path) -> Path:
    """The embedded demo traces with PLANT appended to every user and assistant text."""
    from clawloop_synth.pipeline import default_inputs

    lines = []
    for line in default_inputs()[0].read_text().splitlines():
        record = json.loads(line)
        for message in record["messages"]:
            if message["role"] in ("user", "assistant") and message.get("content"):
                message["content"] += " " + PLANT
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`clawloop-synth run` on the planted demo traces: (work directory, what the command printed)."""
    from typer.testing import CliRunner

    from clawloop_synth.cli import app

    root = tmp_path_factory.mktemp("report-demo")
    traces = planted_traces(root / "traces.jsonl")
    workdir = root / "w"
    result = CliRunner().invoke(app, ["run", "-w", str(workdir), "-i", str(traces), "--per-cluster", "2"])
    assert result.exit_code == 0, result.output
    return workdir, result.output
