"""The ingest stage: traces from any supported input into ``WORKDIR/traces`` plus ``ingest.json``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clawloop_synth.errors import InputError
from clawloop_synth.ingest import iter_records
from clawloop_synth.ingest.cleaning import (
    BROWSE_TYPES,
    IngestStats,
    OnError,
    StatsEvents,
    UniqueIds,
    browse_columns,
    clean_record,
)
from clawloop_synth.ingest.rewards import RewardsFile
from clawloop_synth.ingest.trace_record import TraceRecord
from clawloop_synth.store import save_records, save_shards
from clawloop_synth.workdir import Manifest, write_json

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["IngestStats", "OnError", "run_ingest", "unrated_message"]


def _stream(paths: Sequence[Path], on_error: OnError, stats: IngestStats, tick: Callable[[], None],
            rewards: RewardsFile | None, engine: Engine | None = None) -> Iterator[TraceRecord]:
    def skip_file(path: Path, kind: str | None, error: InputError) -> None:
        stats.skip(error, path, kind)

    unique = UniqueIds(stats)
    for path, kind, item in iter_records(paths, skip_file if on_error == "skip" else None, StatsEvents(stats),
                                       engine):
        cleaned = clean_record(item, path, kind, on_error, stats, rewards)
        if cleaned is None:
            continue
        item = unique(cleaned, path)
        stats.add(item, path, kind)
        tick()
        yield item


def unrated_message(summary: dict[str, Any]) -> str | None:
    """The plain sentence for a summary whose traces carry no reward at all (None when some do)."""
    if summary["traces"] == 0 or summary["rated"] > 0:
        return None
    return (f"none of the {summary['traces']} traces has a reward: nothing counts as failed; give rewards with "
            "a 'reward' field (0 to 1) in each record, or with --rewards FILE (a JSON object of trace, task or "
            "instance id -> reward or resolved, or a SWE-bench report with resolved_ids)")


def run_ingest(paths: Sequence[Path], workdir: Path, *, on_error: OnError = "raise",
               progress: Callable[[], None] | None = None, rewards: Path | None = None,
               engine: Engine | None = None) -> dict[str, Any]:
    """Ingest ``paths`` into ``workdir``; returns the summary also written to ``ingest.json``.

    ``rewards``: a rewards file (see :mod:`clawloop_synth.ingest.rewards`) applied to the traces it lists;
    ``engine``: where files are read, cleaned and made into shards of the dataset (default: this process;
    the output is the same).
    """
    started = time.perf_counter()
    stats = IngestStats()
    given = RewardsFile(Path(rewards)) if rewards is not None else None
    tick = progress or (lambda: None)
    if engine is not None and not engine.in_process:
        from clawloop_synth.ingest.per_file import file_shards

        # Each file cleaned and made into a shard on a worker; here only what spans files (ids, counts).
        save_shards(workdir / "traces", file_shards(paths, on_error, stats, tick, given, engine))
    else:
        save_records(workdir / "traces", _stream(paths, on_error, stats, tick, given, engine),
                     browse_columns, BROWSE_TYPES)
    summary = {"inputs": [str(p) for p in paths], "on_error": on_error, **stats.summary(),
               "rewards_file": given.summary() if given else None,
               "seconds": round(time.perf_counter() - started, 3)}
    summary["unrated"] = unrated_message(summary)
    write_json(workdir / "ingest.json", summary)
    config: dict[str, Any] = {"inputs": summary["inputs"], "on_error": on_error}
    if rewards is not None:
        config["rewards"] = str(rewards)
    Manifest(workdir).record("ingest", config, {"traces": stats.traces, "skipped": len(stats.skipped)})
    return summary
