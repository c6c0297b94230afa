"""`datasets.load_dataset` reads an export's card with no warning (issue 16, item 6)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
import yaml

from clawloop_synth.export import export_tasks
from tests.export.tiny import cluster, make_task, make_workdir


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("fmt", ["hf", "rl"])
def test_load_dataset_on_the_export_emits_no_warning(tmp_path: Path, fmt: str) -> None:
    from datasets import load_dataset

    workdir = make_workdir(tmp_path, [make_task(i) for i in range(12)], clusters=[cluster("c0", 12)])
    out = tmp_path / "out"
    summary = export_tasks(workdir, fmt, out, seed=0)

    handler = _Records()
    # datasets logs through its own logger tree, which does not propagate to the root logger
    loggers = [logging.getLogger("datasets"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in handler.records]
    print("\n".join(messages) or "no warnings")
    assert not [m for m in messages if "card" in m.lower() or "yaml" in m.lower() or "dataset_info" in m.lower()]
    assert not handler.records, messages
    assert {name: len(part) for name, part in dataset.items()} == summary["splits"]
    meta = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
    assert all(s["num_bytes"] > 0 for s in meta["dataset_info"]["splits"])
