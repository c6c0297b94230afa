"""The ingest stage: traces from any supported input into ``WORKDIR/traces`` plus ``ingest.json``."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from clawloop_synth.errors import InputError
from clawloop_synth.ingest import iter_items
from clawloop_synth.store import save_records
from clawloop_synth.types import Trace
from clawloop_synth.workdir import Manifest, write_json

__all__ = ["IngestStats", "OnError", "run_ingest"]

OnError = Literal["raise", "skip"]
_BINS = 10


class IngestStats:
    """Counts gathered while traces stream through, for ``ingest.json``."""

    def __init__(self) -> None:
        self.traces = 0
        self.by_file: dict[str, Counter[str]] = {}
        self.by_format: Counter[str] = Counter()
        self.reward_bins = [0] * _BINS
        self.reward_none = 0
        self.reward_zero = 0
        self.reward_sum = 0.0
        self.tool_calls: Counter[str] = Counter()
        self.tool_results = 0
        self.tool_errors: Counter[str] = Counter()
        self.gold_actions = 0
        self.gold_failures = 0
        self.gold_outputs = 0
        self.skipped: list[dict[str, str | None]] = []

    def file(self, path: Path, kind: str) -> Counter[str]:
        counts = self.by_file.setdefault(str(path), Counter())
        counts["format:" + kind] = 1
        return counts

    def add(self, trace: Trace, path: Path, kind: str) -> None:
        self.traces += 1
        self.file(path, kind)["traces"] += 1
        self.by_format[kind] += 1
        if trace.reward is None:
            self.reward_none += 1
        else:
            self.reward_sum += trace.reward
            self.reward_zero += trace.reward == 0.0
            self.reward_bins[min(int(trace.reward * _BINS), _BINS - 1)] += 1
        names: dict[str | None, str] = {}
        for message in trace.messages:
            for call in message.tool_calls:
                self.tool_calls[call.name] += 1
                names[call.id] = call.name
            if message.role == "tool":
                self.tool_results += 1
                if message.is_error:
                    self.tool_errors[message.name or names.get(message.tool_call_id, "?")] += 1
        self.gold_actions += trace.gold_actions is not None
        self.gold_failures += trace.gold_failure is not None
        self.gold_outputs += bool(trace.gold_outputs)

    def skip(self, error: InputError, path: Path, kind: str | None) -> None:
        self.file(path, kind or "unknown")["skipped"] += 1
        self.skipped.append({"file": error.file or str(path), "record": error.record, "field": error.field,
                             "reason": error.message})

    def summary(self) -> dict[str, Any]:
        rated = self.traces - self.reward_none
        files = {}
        for name, counts in self.by_file.items():
            kind = next(k.split(":", 1)[1] for k in counts if k.startswith("format:"))
            files[name] = {"format": kind, "traces": counts["traces"], "skipped": counts["skipped"]}
        return {
            "traces": self.traces,
            "files": files,
            "by_format": dict(self.by_format),
            "reward": {
                "rated": rated,
                "unrated": self.reward_none,
                "zero": self.reward_zero,
                "mean": round(self.reward_sum / rated, 4) if rated else None,
                "histogram": {f"[{i / _BINS:.1f},{(i + 1) / _BINS:.1f}{']' if i == _BINS - 1 else ')'}": n
                              for i, n in enumerate(self.reward_bins)},
            },
            "tool_calls": sum(self.tool_calls.values()),
            "tool_calls_by_tool": dict(self.tool_calls.most_common()),
            "tool_results": self.tool_results,
            "tool_result_errors": sum(self.tool_errors.values()),
            "tool_result_errors_by_tool": dict(self.tool_errors.most_common()),
            "gold": {"actions": self.gold_actions, "failure_labels": self.gold_failures,
                     "outputs": self.gold_outputs},
            "skipped": len(self.skipped),
            "skipped_records": self.skipped,
        }


_BROWSE_TYPES = {"source": str, "task_id": str, "domain": str, "reward": float, "messages": int}


def _browse_columns(trace: Trace) -> dict[str, Any]:
    return {"source": trace.source, "task_id": trace.task_id, "domain": trace.domain,
            "reward": trace.reward, "messages": len(trace.messages)}


def _stream(paths: Sequence[Path], on_error: OnError, stats: IngestStats,
            tick: Callable[[], None]) -> Iterator[Trace]:
    def skip_file(path: Path, kind: str | None, error: InputError) -> None:
        stats.skip(error, path, kind)

    for path, kind, item in iter_items(paths, skip_file if on_error == "skip" else None):
        if isinstance(item, InputError):
            if on_error == "raise":
                raise item
            stats.skip(item, path, kind)
            continue
        stats.add(item, path, kind)
        tick()
        yield item


def run_ingest(paths: Sequence[Path], workdir: Path, *, on_error: OnError = "raise",
               progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Ingest ``paths`` into ``workdir``; returns the summary also written to ``ingest.json``."""
    started = time.perf_counter()
    stats = IngestStats()
    save_records(workdir / "traces", _stream(paths, on_error, stats, progress or (lambda: None)),
                 _browse_columns, _BROWSE_TYPES)
    summary = {"inputs": [str(p) for p in paths], "on_error": on_error, **stats.summary(),
               "seconds": round(time.perf_counter() - started, 3)}
    write_json(workdir / "ingest.json", summary)
    Manifest(workdir).record("ingest", {"inputs": summary["inputs"], "on_error": on_error},
                             {"traces": stats.traces, "skipped": len(stats.skipped)})
    return summary
