"""The per-record pass of ingest: cleaning, counting and unique ids, shared by the local stream and the
per-file pass of remote engines (``per_file.py``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from clawloop_synth.errors import InputError
from clawloop_synth.ingest import FileEvents
from clawloop_synth.ingest.records import DROPPED_KEY
from clawloop_synth.ingest.rewards import RewardsFile
from clawloop_synth.ingest.schemas import SchemaCounts, normalize_tools
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["BROWSE_TYPES", "IngestStats", "OnError", "StatsEvents", "UniqueIds", "browse_columns", "clean_record"]

OnError = Literal["raise", "skip"]
_BINS = 10
_EXAMPLES = 20


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
        self.schemas = SchemaCounts()
        self.duplicate_ids: list[dict[str, str]] = []
        self.duplicate_files: list[dict[str, str]] = []
        self.referenced_files: dict[str, str] = {}
        self.dropped: dict[str, Counter[str]] = {}

    def file(self, path: Path, kind: str) -> Counter[str]:
        counts = self.by_file.setdefault(str(path), Counter())
        counts["format:" + kind] = 1
        return counts

    def add(self, trace: TraceRecord, path: Path, kind: str) -> None:
        self.traces += 1
        self.file(path, kind)["traces"] += 1
        self.by_format[kind] += 1
        reward = trace["reward"]
        if reward is None:
            self.reward_none += 1
        else:
            self.reward_sum += reward
            self.reward_zero += reward == 0.0
            self.reward_bins[min(int(reward * _BINS), _BINS - 1)] += 1
        names: dict[str | None, str] = {}
        for message in trace["messages"]:
            for call in message["tool_calls"]:
                self.tool_calls[call["name"]] += 1
                names[call["id"]] = call["name"]
            if message["role"] == "tool":
                self.tool_results += 1
                if message["is_error"]:
                    self.tool_errors[message["name"] or names.get(message["tool_call_id"], "?")] += 1
        self.gold_actions += trace["gold_actions"] is not None
        self.gold_failures += trace["gold_failure"] is not None
        self.gold_outputs += bool(trace["gold_outputs"])

    def skip(self, error: InputError, path: Path, kind: str | None) -> None:
        self.file(path, kind or "unknown")["skipped"] += 1
        self.skipped.append({"file": error.file or str(path), "record": error.record, "field": error.field,
                             "reason": error.message})

    def drop(self, kind: str, fields: list[str]) -> None:
        self.dropped.setdefault(kind, Counter()).update(fields)

    def merge(self, other: IngestStats, rewards: Sequence[float]) -> None:
        """Add the counts of ``other`` (one file's, gathered where it was read) as if its traces had streamed
        through here; ``rewards``: its traces' rewards in order, summed one by one as :meth:`add` would (a
        file's partial sum would round differently). Files are merged in reading order, so every count, and
        the order keys first appear in, is what one pass would give."""
        self.traces += other.traces
        for name, counts in other.by_file.items():
            mine = self.by_file.setdefault(name, Counter())
            for key, n in counts.items():
                mine[key] = 1 if key.startswith("format:") else mine[key] + n
        self.by_format.update(other.by_format)
        self.reward_bins = [a + b for a, b in zip(self.reward_bins, other.reward_bins, strict=True)]
        self.reward_none += other.reward_none
        self.reward_zero += other.reward_zero
        for reward in rewards:
            self.reward_sum += reward
        self.tool_calls.update(other.tool_calls)
        self.tool_results += other.tool_results
        self.tool_errors.update(other.tool_errors)
        self.gold_actions += other.gold_actions
        self.gold_failures += other.gold_failures
        self.gold_outputs += other.gold_outputs
        self.skipped += other.skipped
        self.schemas.merge(other.schemas)
        for kind, fields in other.dropped.items():
            self.dropped.setdefault(kind, Counter()).update(fields)

    def summary(self) -> dict[str, Any]:
        rated = self.traces - self.reward_none
        files = {}
        for name, counts in self.by_file.items():
            kind = next((k.split(":", 1)[1] for k in counts if k.startswith("format:")), "unknown")
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
            "rated": rated,
            "tool_schemas": self.schemas.summary(),
            "duplicate_ids": len(self.duplicate_ids),
            "duplicate_id_examples": self.duplicate_ids[:_EXAMPLES],
            "duplicate_files": self.duplicate_files,
            "read_through_messages_ref": self.referenced_files,
            # Per format, the source fields left out of the traces (every other one is kept,
            # in a trace field or in metadata).
            "dropped_fields": {kind: dict(self.dropped.get(kind, Counter())) for kind in self.by_format},
        }


BROWSE_TYPES = {"source": str, "task_id": str, "domain": str, "reward": float, "messages": int}


def browse_columns(trace: TraceRecord) -> dict[str, Any]:
    return {"source": trace["source"], "task_id": trace["task_id"], "domain": trace["domain"],
            "reward": trace["reward"], "messages": len(trace["messages"])}


class StatsEvents(FileEvents):
    def __init__(self, stats: IngestStats) -> None:
        self.stats = stats

    def duplicate(self, path: Path, same_as: Path) -> bool:
        # A second copy of a file adds no trace, only collisions: reported and not read.
        self.stats.duplicate_files.append({"file": str(path), "same_content_as": str(same_as)})
        return True

    def referenced(self, path: Path, archive: Path) -> None:
        self.stats.referenced_files[str(path)] = str(archive)


class UniqueIds:
    """Each trace's source id when unique, else ``ID@FOLDER/FILE#N`` (N: its position among the
    file's traces), so the same inputs always give the same ids."""

    def __init__(self, stats: IngestStats) -> None:
        self.stats = stats
        self.seen: set[str] = set()
        self.position: Counter[str] = Counter()

    def __call__(self, trace: TraceRecord, path: Path) -> TraceRecord:
        new = self.rename(trace["id"], path)
        if new is not None:
            trace["id"] = new
        return trace

    def rename(self, trace_id: str, path: Path) -> str | None:
        """The new id of the next trace of ``path`` (None: its own id is unique so far)."""
        self.position[str(path)] += 1
        if trace_id not in self.seen:
            self.seen.add(trace_id)
            return None
        base = f"{trace_id}@{path.parent.name}/{path.name}#{self.position[str(path)]}"
        new, n = base, 1
        while new in self.seen:
            n += 1
            new = f"{base}~{n}"
        self.seen.add(new)
        self.stats.duplicate_ids.append({"id": trace_id, "renamed_to": new, "file": str(path)})
        return new


def _clean(trace: TraceRecord, kind: str, stats: IngestStats) -> TraceRecord:
    """Tool schemas as valid JSON Schema; the reader's list of dropped fields taken out and counted.
    (``trace`` is the reader's own fresh record: it is updated in place.)"""
    if trace["tools"]:
        trace["tools"] = normalize_tools(trace["tools"], stats.schemas)
    if DROPPED_KEY in trace["metadata"]:
        stats.drop(kind, trace["metadata"].pop(DROPPED_KEY))
    return trace


def clean_record(item: TraceRecord | InputError, path: Path, kind: str, on_error: OnError, stats: IngestStats,
             rewards: RewardsFile | None) -> TraceRecord | None:
    """A record read from ``path`` cleaned and rewarded; None for a bad record that is skipped (and counted)."""
    if isinstance(item, InputError):
        if on_error == "raise":
            raise item
        stats.skip(item, path, kind)
        return None
    item = _clean(item, kind, stats)
    return rewards.apply(item) if rewards is not None else item
