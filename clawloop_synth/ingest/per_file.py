"""Ingest on an engine's workers (``ray``): each file read, cleaned and made into a shard of the traces
dataset by a worker alone; the driver merges the files in reading order.

A file's pass needs nothing from other files: the records' schemas normalized, dropped fields counted,
rewards applied, the counts of ``ingest.json`` for that file. What spans files stays on the driver and is
decided in file order, as one pass would: which ids are taken (a worker sends its file's ids back; a
renamed trace gets its new id as its shard is written), the counts added up, files skipped as copies of
others. So the dataset and ``ingest.json`` equal the local engine's, while the driver never holds or
parses a trace: it copies each shard's Arrow batches into the dataset file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clawloop_synth.errors import InputError
from clawloop_synth.ingest import cleaning, plan_files, read_path
from clawloop_synth.ingest.cleaning import IngestStats, OnError
from clawloop_synth.ingest.rewards import RewardsFile
from clawloop_synth.ingest.schemas import _Cache
from clawloop_synth.ingest.trace_record import TraceRecord
from clawloop_synth.store import arrow_shard

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["FileShard", "file_shards", "ingest_file"]

# Per worker process: normalized tool schemas by content, kept from one file to the next (a file's
# traces and the next file's mostly share their tools).
_schemas = _Cache()


@dataclass
class FileShard:
    """One file's pass: its rows (an Arrow stream, None when it gave no trace) and what the merge needs."""

    path: Path
    shard: bytes | None
    ids: list[str]  # its traces' ids, in order
    rewards: list[float]  # its rated traces' rewards, in order
    stats: IngestStats  # its counts (no duplicate ids: those span files)
    reward_counts: tuple[set[str], int, int, int] | None


def ingest_file(context: tuple[OnError, RewardsFile | None], path: Path) -> FileShard:
    """Read, clean and write one file as :func:`~clawloop_synth.ingest.stage.run_ingest` does, with this
    file's own counts. A bad record or file raises InputError under ``raise`` (the driver re-raises it in file
    order), or is counted under ``skip``."""
    on_error, given = context
    stats = IngestStats()
    stats.schemas.cache = _schemas
    rewards = given.fresh() if given is not None else None
    ids: list[str] = []
    rated: list[float] = []

    def traces() -> Iterator[TraceRecord]:
        kind: str | None = None
        try:
            kind, records = read_path(path)
            for read in records:
                item = cleaning.clean_record(read, path, kind, on_error, stats, rewards)
                if item is None:
                    continue
                ids.append(item["id"])
                if item["reward"] is not None:
                    rated.append(item["reward"])
                stats.add(item, path, kind)
                yield item
        except InputError as exc:
            if on_error == "raise":
                raise
            stats.skip(exc, path, kind)  # the records read before a truncation are kept

    shard = arrow_shard(traces(), cleaning.browse_columns, cleaning.BROWSE_TYPES)
    stats.schemas.cache = _Cache()  # the worker's cache stays here: not sent back
    return FileShard(path, shard, ids, rated, stats, rewards.counts() if rewards is not None else None)


def file_shards(paths: Sequence[Path], on_error: OnError, stats: IngestStats, tick: Callable[[], None],
                rewards: RewardsFile | None, engine: Engine) -> Iterator[tuple[bytes | None, dict[int, str]]]:
    """Every file's shard with the new ids of its renamed rows, in reading order, for
    :func:`~clawloop_synth.store.save_shards`; ``stats`` and ``rewards`` gather the files' counts."""
    def skip_file(path: Path, kind: str | None, error: InputError) -> None:
        stats.skip(error, path, kind)

    files = plan_files(paths, skip_file if on_error == "skip" else None, cleaning.StatsEvents(stats))
    unique = cleaning.UniqueIds(stats)
    for part in engine.map_ordered(ingest_file, files, context=(on_error, rewards)):
        stats.merge(part.stats, part.rewards)
        if rewards is not None and part.reward_counts is not None:
            rewards.merge(part.reward_counts)
        renames: dict[int, str] = {}
        for row, trace_id in enumerate(part.ids):
            new = unique.rename(trace_id, part.path)
            if new is not None:
                renames[row] = new
            tick()
        yield part.shard, renames
