"""Compare two work directories stage by stage: every dataset's rows and every stage summary."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

__all__ = ["cli", "datasets_of", "differences"]

# What may differ between two runs of the same input: how long they took, and where they ran (the size of a
# page that names its work directory).
_TIMINGS = {"seconds", "rollouts_per_second", "elapsed", "started", "finished", "created", "timestamp", "bytes"}


def datasets_of(workdir: Path) -> list[Path]:
    """Every dataset folder (``*/data/state.json``) under ``workdir``, relative to it."""
    return sorted(p.parent.parent.relative_to(workdir) for p in workdir.rglob("data/state.json"))


def _rows(folder: Path) -> Iterator[str]:
    """The dataset's rows as canonical JSON, a record batch at a time (a 200,000-trace dataset read whole
    into Python would take gigabytes)."""
    import pyarrow as pa

    with pa.OSFile(str(folder / "data" / "data-00000-of-00001.arrow")) as source:
        for batch in pa.ipc.open_stream(source):
            yield from (json.dumps(row, sort_keys=True) for row in batch.to_pylist())


def _normal(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v, root) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list):
        return [_normal(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "WORKDIR")
    return value


def _files(workdir: Path) -> list[str]:
    """Every file a run wrote, but the lock, the manifest (it records when), caches and the dataset folders
    (compared by rows)."""
    skip = set(datasets_of(workdir))
    out = []
    for path in workdir.rglob("*"):
        rel = path.relative_to(workdir)
        if (path.is_dir() or rel.name in ("manifest.json", ".lock") or rel.parts[0] == "cache"
                or any(rel.is_relative_to(folder) for folder in skip)):
            continue
        out.append(str(rel))
    return sorted(out)


def _text(path: Path, root: Path) -> str:
    text = path.read_text()
    # The report's script nonce is random by design (Content-Security-Policy).
    return re.sub(r'nonce(-|=")[A-Za-z0-9_-]+', "nonce", text).replace(str(root), "WORKDIR")


def differences(left: Path, right: Path, only: tuple[str, ...] | None = None) -> list[str]:
    """What differs between two work directories: datasets (row by row, in order), JSON files (timings left
    out, the work directory's path replaced), text files and every other file byte for byte. Empty when
    they agree. ``only``: just the files and datasets whose names start with one of these."""
    out: list[str] = []
    def kept(names: list[str]) -> list[str]:
        return [n for n in names if only is None or n.startswith(only)]

    files = kept(_files(left))
    if files != kept(_files(right)):
        out.append(f"files differ: {sorted(set(files) ^ set(kept(_files(right))))}")
    for name in files:
        a_path, b_path = left / name, right / name
        if not b_path.exists():
            continue
        if name.endswith(".json"):
            same = (_normal(json.loads(a_path.read_text()), str(left))
                    == _normal(json.loads(b_path.read_text()), str(right)))
        elif name.endswith((".md", ".html", ".jsonl", ".txt")):
            same = _text(a_path, left) == _text(b_path, right)
        else:
            same = a_path.read_bytes() == b_path.read_bytes()
        if not same:
            out.append(f"{name} differs")
    sets = [p for p in datasets_of(left) if only is None or str(p).startswith(only)]
    if sets != [p for p in datasets_of(right) if only is None or str(p).startswith(only)]:
        out.append(f"dataset folders differ: {sets} vs {datasets_of(right)}")
    for folder in sets:
        counts, first = [0, 0], None
        for i, (x, y) in enumerate(zip_longest(_rows(left / folder), _rows(right / folder))):
            counts[0] += x is not None
            counts[1] += y is not None
            if first is None and x != y:
                first = i
        if first is not None:
            out.append(f"{folder}: {counts[0]} vs {counts[1]} rows, first difference at row {first}")
    return out


def cli(*args: str) -> str:
    """Run the command line in this process; its output (the command must succeed)."""
    from clawloop_synth.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
