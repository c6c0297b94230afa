"""Hugging Face datasets whose rows are OpenAI chat records: ``save_to_disk`` folders and parquet files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where
from clawloop_synth.ingest.openai_chat import chat_record
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["is_saved_dataset", "read_parquet", "read_saved_dataset"]

_BATCH = 1024


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and (
        (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file()
    )


def read_saved_dataset(path: Path) -> Iterator[TraceRecord | InputError]:
    from datasets import Dataset, DatasetDict, load_from_disk

    loaded = load_from_disk(str(path))
    splits: dict[str, Dataset] = dict(loaded) if isinstance(loaded, DatasetDict) else {"": loaded}
    for split, dataset in splits.items():
        label = f"{split} row" if split else "row"
        number = 0
        for batch in dataset.iter(batch_size=_BATCH):
            columns = list(batch)
            for values in zip(*(batch[c] for c in columns), strict=True):
                number += 1
                where = Where(str(path), f"{label} {number}")
                try:
                    yield chat_record(dict(zip(columns, values, strict=True)), where,
                                      f"{path.name}-{split + '-' if split else ''}{number}", "hf_dataset")
                except InputError as exc:
                    yield exc


def read_parquet(path: Path) -> Iterator[TraceRecord | InputError]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH):
        for row in batch.to_pylist():
            number += 1
            try:
                yield chat_record(row, Where(str(path), f"row {number}"), f"{path.stem}-{number}", "hf_dataset")
            except InputError as exc:
                yield exc
