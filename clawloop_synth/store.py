"""Stage outputs as Hugging Face datasets on disk.

Every record dataset in a work directory has a ``json`` column holding the full pydantic record
(nested values vary in type from row to row, which Arrow cannot hold as structs) plus a few flat
columns for browsing and filtering (``id`` always). Writing goes through a staging folder so that a
crash never leaves half a dataset behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from clawloop_synth.workdir import staging_dir

__all__ = ["count_records", "load_records", "save_records"]

M = TypeVar("M", bound=BaseModel)

_BATCH = 2048


def save_records(
    path: Path,
    records: Iterable[BaseModel],
    columns: Callable[[Any], dict[str, Any]] | None = None,
) -> int:
    """Write ``records`` as a ``save_to_disk`` dataset at ``path``; returns the row count.

    ``columns(record)`` may add flat browse columns; they must have the same type in every row.
    """
    import pyarrow as pa

    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()  # the CLI draws its own progress; datasets' bars would interleave with it
    with staging_dir(path) as tmp:
        tmp.mkdir(parents=True)
        arrow_file = tmp / "rows.arrow"
        writer: pa.RecordBatchStreamWriter | None = None
        schema: pa.Schema | None = None
        count = 0
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal writer, schema
            if not batch:
                return
            table = pa.Table.from_pylist(batch, schema=schema)
            if writer is None:
                schema = table.schema
                writer = pa.ipc.new_stream(str(arrow_file), schema)
            writer.write_table(table)
            batch.clear()

        for record in records:
            row = {"id": getattr(record, "id", str(count))}
            if columns is not None:
                row.update(columns(record))
            row["json"] = record.model_dump_json()
            batch.append(row)
            count += 1
            if len(batch) >= _BATCH:
                flush()
        flush()
        if writer is None:
            Dataset.from_dict({"id": [], "json": []}).save_to_disk(str(tmp / "data"))
        else:
            writer.close()
            Dataset.from_file(str(arrow_file)).save_to_disk(str(tmp / "data"))
            arrow_file.unlink()
    return count


def load_records(path: Path, model: type[M]) -> Iterator[M]:
    """Stream the records of a dataset written by :func:`save_records`."""
    from datasets import load_from_disk

    dataset = load_from_disk(str(path / "data"))
    for batch in dataset.iter(batch_size=_BATCH):
        for blob in batch["json"]:
            yield model.model_validate_json(blob)


def count_records(path: Path) -> int:
    from datasets import load_from_disk

    return len(load_from_disk(str(path / "data")))
