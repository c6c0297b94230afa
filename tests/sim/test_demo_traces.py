"""`clawloop-synth sim demo-traces` and the committed datasets/demo/traces.jsonl."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from clawloop_synth.agents import FLAW_MODES
from clawloop_synth.cli import app
from clawloop_synth.ingest import iter_traces

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "datasets" / "demo" / "traces.jsonl"


def test_committed_file_regenerates_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    result = CliRunner().invoke(app, ["sim", "demo-traces", "--out", str(out), "--seed", "0", "--n", "320",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == COMMITTED.read_bytes()
    summary = json.loads(result.output)
    assert summary["traces"] == 320


def test_committed_file_mixes_successes_and_every_mode() -> None:
    records = [json.loads(line) for line in COMMITTED.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 300
    assert COMMITTED.stat().st_size < 3_000_000
    modes = Counter(r["metadata"]["planted_mode"] for r in records)
    assert set(modes) == {"none", *FLAW_MODES}
    assert all(modes[m] >= 10 for m in FLAW_MODES)
    assert {r["reward"] for r in records} == {0.0, 1.0}
    for record in records:
        assert set(record) >= {"id", "messages", "tools", "reward", "metadata"}
        for message in record["messages"]:
            for call in message.get("tool_calls", []):
                assert isinstance(call["function"]["arguments"], str)
            if message["role"] == "tool":
                assert message["tool_call_id"] and message["name"]


def test_committed_file_ingests_as_openai_chat() -> None:
    traces = list(iter_traces([COMMITTED]))
    assert len(traces) == 320
    assert all(t.source == "openai_chat" and t.domain == "demo" for t in traces)
    assert sum(1 for t in traces for s in t.tool_steps() if s.is_error) > 100
