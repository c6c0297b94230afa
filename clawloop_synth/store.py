"""Stage outputs as Hugging Face datasets on disk.

Every record dataset in a work directory has a ``json`` column holding the full pydantic record
(nested values vary in type from row to row, which Arrow cannot hold as structs) plus a few flat
columns for browsing and filtering (``id`` always). It is an ordinary ``save_to_disk`` folder under
``PATH/data``: ``datasets.load_from_disk`` reads it.

Rows are streamed in column batches straight into the folder's Arrow file, so memory stays flat
however many records there are (``Dataset.save_to_disk`` would page the whole table back in to copy
it). The folder's metadata files are written here for the plain column types a record dataset has
(the JSON ``datasets`` writes for them: importing ``datasets`` costs a second that a stage writing a
dataset should not pay), and otherwise come from ``datasets`` itself, saved for an empty table of the
same schema. Writing goes through a staging folder so a crash never leaves half a dataset behind.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
from pydantic import BaseModel

from clawloop_synth.errors import InputError
from clawloop_synth.workdir import staging_dir

__all__ = ["arrow_shard", "count_records", "load_batches", "load_columns", "load_records", "load_rows",
           "load_shared", "require_records", "save_records", "save_shards"]

M = TypeVar("M", bound=BaseModel)

_BATCH = 1024
_BATCH_BYTES = 32 << 20  # a batch also ends at this much JSON: 1024 coding-agent traces of 1 MB would not fit
_ARROW_FILE = "data-00000-of-00001.arrow"


def _arrow_types() -> dict[type, Any]:
    import pyarrow as pa

    return {str: pa.string(), float: pa.float64(), int: pa.int64(), bool: pa.bool_()}


def save_records(
    path: Path,
    records: Iterable[BaseModel] | Iterable[Mapping[str, Any]],
    columns: Callable[[Any], dict[str, Any]] | None = None,
    column_types: Mapping[str, type] | None = None,
) -> int:
    """Write ``records`` as a dataset at ``path``; returns the row count.

    A record is a pydantic model, or a plain dict already in its model's JSON form (such as
    ``ingest.trace_record.TraceRecord``), written with orjson as is.

    ``columns(record)`` may add flat browse columns. Their types are ``column_types`` (str, float,
    int or bool) where given, else those of the first record's values (None reads as str).
    """
    return _save_batches(path, ((batch, {}) for batch in _record_batches(records, columns, column_types)))


def _record_batches(
    records: Iterable[BaseModel] | Iterable[Mapping[str, Any]],
    columns: Callable[[Any], dict[str, Any]] | None,
    column_types: Mapping[str, type] | None,
) -> Iterator[Any]:
    """``records`` as Arrow record batches of at most ``_BATCH`` rows (or ``_BATCH_BYTES`` of JSON), the
    schema taken from the first record (see :func:`save_records`)."""
    import pyarrow as pa

    from clawloop_synth.arrow import array

    arrow_types = _arrow_types()
    schema: pa.Schema | None = None
    rows: dict[str, list[Any]] = {}
    held = 0  # bytes of JSON in the batch

    def batch() -> Any:
        nonlocal held
        assert schema is not None
        out = pa.RecordBatch.from_arrays([array(rows[f.name], f.type) for f in schema], schema=schema)
        held = 0
        for values in rows.values():
            values.clear()
        return out

    source = cast(Iterable[BaseModel | Mapping[str, Any]], records)
    for count, record in enumerate(source):
        extra = columns(record) if columns is not None else {}
        if schema is None:
            declared = dict(column_types or {})
            fields = [("id", pa.string())]
            fields += [(k, arrow_types[declared.get(k) or (str if v is None else type(v))])
                       for k, v in extra.items()]
            schema = pa.schema([*fields, ("json", pa.string())])
            rows = {name: [] for name in schema.names}
        if isinstance(record, Mapping):
            rows["id"].append(str(record.get("id", count)))
            text = orjson.dumps(record).decode()
        else:
            rows["id"].append(str(getattr(record, "id", count)))
            text = record.model_dump_json()
        for key, value in extra.items():
            rows[key].append(value)
        rows["json"].append(text)
        held += len(text)
        if len(rows["json"]) >= _BATCH or held >= _BATCH_BYTES:
            yield batch()
    if rows and rows["json"]:
        yield batch()


def arrow_shard(
    records: Iterable[BaseModel] | Iterable[Mapping[str, Any]],
    columns: Callable[[Any], dict[str, Any]] | None = None,
    column_types: Mapping[str, type] | None = None,
) -> bytes | None:
    """``records`` as the rows :func:`save_records` would write, in an Arrow IPC stream in memory (None when
    there are none): a piece of a dataset made where the records are (a cluster's worker), for
    :func:`save_shards` to write in order."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    writer = None
    for batch in _record_batches(records, columns, column_types):
        if writer is None:
            writer = pa.ipc.new_stream(sink, batch.schema)
        writer.write_batch(batch)
    if writer is None:
        return None
    writer.close()
    return bytes(sink.getvalue())


def save_shards(path: Path, shards: Iterable[tuple[bytes | None, Mapping[int, str]]]) -> int:
    """Write the rows of ``shards`` (from :func:`arrow_shard`, all of one schema) in order as one dataset at
    ``path``; returns the row count. Each shard comes with new ids for some of its rows (row position in the
    shard -> id), set in the ``id`` column and the record's JSON: what only the whole input shows (an id
    taken by an earlier shard). The dataset equals :func:`save_records` of the same records."""
    import pyarrow as pa

    def batches() -> Iterator[tuple[Any, Mapping[int, str]]]:
        for blob, renames in shards:
            if blob is None:
                continue
            offset = 0
            for batch in pa.ipc.open_stream(pa.BufferReader(blob)):
                n = batch.num_rows
                yield batch, {i - offset: new for i, new in renames.items() if offset <= i < offset + n}
                offset += n

    return _save_batches(path, batches())


def _renamed(batch: Any, renames: Mapping[int, str]) -> Any:
    """``batch`` with the rows at ``renames``' positions given their new id (column and JSON)."""
    import pyarrow as pa

    from clawloop_synth.arrow import array

    ids = batch.column("id").to_pylist()
    texts = batch.column("json").to_pylist()
    for i, new in renames.items():
        record = orjson.loads(texts[i])
        record["id"] = new  # the key keeps its place: the text is what save_records writes for the record
        ids[i], texts[i] = new, orjson.dumps(record).decode()
    arrays = [array(ids, pa.string()) if f.name == "id" else
              array(texts, pa.string()) if f.name == "json" else batch.column(f.name)
              for f in batch.schema]
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _save_batches(path: Path, batches: Iterable[tuple[Any, Mapping[int, str]]]) -> int:
    """Stream record batches (each with the new ids of some of its rows) into the dataset folder at ``path``."""
    import pyarrow as pa

    with staging_dir(path) as tmp:
        data = tmp / "data"
        data.mkdir(parents=True)
        schema: pa.Schema | None = None
        writer: pa.RecordBatchStreamWriter | None = None
        count = 0
        try:
            for batch, renames in batches:
                if writer is None:
                    schema = batch.schema
                    writer = pa.ipc.new_stream(str(data / _ARROW_FILE), schema)
                elif not batch.schema.equals(schema):
                    raise RuntimeError(f"a shard of {path} has another schema: {batch.schema} vs {schema}")
                writer.write_batch(_renamed(batch, renames) if renames else batch)
                count += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        _write_metadata(data, schema or pa.schema([("id", pa.string()), ("json", pa.string())]), count)
    return count


# Arrow types of the browse columns -> the dtype of datasets' ``Value`` feature for them
_VALUE_DTYPES = {"string": "string", "double": "float64", "int64": "int64", "bool": "bool"}


def _value_features(schema: Any) -> dict[str, dict[str, str]] | None:
    """``datasets``' feature dict of ``schema`` when every column is a plain ``Value``, else None."""
    features = {}
    for field in schema:
        dtype = _VALUE_DTYPES.get(str(field.type))
        if dtype is None:
            return None
        features[field.name] = {"dtype": dtype, "_type": "Value"}
    return features


def _write_metadata(data: Path, schema: Any, count: int) -> None:
    """Add the ``state.json`` and ``dataset_info.json`` that ``datasets`` writes for a table of ``schema``."""
    import pyarrow as pa

    if count == 0:
        pa.ipc.new_stream(str(data / _ARROW_FILE), schema).close()
    features = _value_features(schema)
    if features is not None:
        state: dict[str, Any] = {"_data_files": [{"filename": _ARROW_FILE}], "_fingerprint": secrets.token_hex(8),
                                 "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
                                 "_output_all_columns": False, "_split": None}
        info = {"citation": "", "description": "", "features": features, "homepage": "", "license": ""}
        (data / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
        (data / "dataset_info.json").write_text(json.dumps(info, indent=2))
        return
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()  # the CLI draws its own progress; datasets' bars would interleave with it
    # A one-row placeholder: datasets writes no data file at all for an empty table.
    placeholder = {field.name: pa.array([None], type=field.type) for field in schema}
    template = data.parent / "template"
    Dataset(pa.table(placeholder, schema=schema)).save_to_disk(str(template))
    files = sorted(p.name for p in template.glob("*.arrow"))
    if files != [_ARROW_FILE]:
        raise RuntimeError(f"unexpected save_to_disk layout from this version of datasets: {files}")
    for name in ("state.json", "dataset_info.json"):
        shutil.copy(template / name, data / name)
    shutil.rmtree(template)


def require_records(path: Path, what: str, hint: str = "run the previous stage first") -> None:
    """Raise an InputError naming ``path`` unless a dataset written by :func:`save_records` is there."""
    if not (path / "data").is_dir():
        raise InputError(f"no {what} dataset here; {hint}", file=str(path))


def _column_batches(path: Path, column: str) -> Iterator[list[Any]]:
    """The values of ``column``, a batch of rows at a time. The Arrow file is read with plain reads, not
    memory-mapped as ``datasets`` does: every page of a map that was read stays in this process's resident
    memory until the kernel needs it back, so a stage streaming a 7 GB dataset would show 7 GB resident."""
    file = path / "data" / _ARROW_FILE
    if not file.is_file():  # not laid out by save_records: datasets knows how to read it
        from datasets import load_from_disk

        for batch in load_from_disk(str(path / "data")).iter(batch_size=_BATCH):
            yield batch[column]
        return
    for batch in load_batches(path):
        values = batch.column(column)
        for start in range(0, len(values), _BATCH):
            yield values.slice(start, _BATCH).to_pylist()


def load_batches(path: Path) -> Iterator[Any]:
    """The dataset's Arrow record batches in row order, read with plain reads (see :func:`_column_batches`):
    what is resident is the batch at hand, whatever the dataset's size."""
    import pyarrow as pa

    file = path / "data" / _ARROW_FILE
    if not file.is_file():  # not laid out by save_records (memory-mapped by datasets)
        from datasets import load_from_disk

        yield from load_from_disk(str(path / "data")).data.to_batches()
        return
    with pa.OSFile(str(file)) as source:
        yield from pa.ipc.open_stream(source)


def load_columns(path: Path, names: Sequence[str]) -> Iterator[tuple[Any, ...]] | None:
    """Stream the rows' values of the browse columns ``names`` (as tuples) without parsing a record; None
    when the dataset was not laid out by :func:`save_records` or lacks one of them."""
    import pyarrow as pa

    file = path / "data" / _ARROW_FILE
    if not file.is_file():
        return None
    with pa.OSFile(str(file)) as source:
        if not set(names) <= set(pa.ipc.open_stream(source).schema.names):
            return None

    def rows() -> Iterator[tuple[Any, ...]]:
        with pa.OSFile(str(file)) as source:
            for batch in pa.ipc.open_stream(source):
                yield from zip(*(batch.column(name).to_pylist() for name in names), strict=True)

    return rows()


def load_records(path: Path, model: type[M]) -> Iterator[M]:
    """Stream the records of a dataset written by :func:`save_records`."""
    for blobs in _column_batches(path, "json"):
        for blob in blobs:
            yield model.model_validate_json(blob)


_SHARED: dict[tuple[str, type], tuple[tuple[int, int, int], list[Any]]] = {}
_SHARED_SIZE = 2


def load_shared(path: Path, model: type[M]) -> list[M]:
    """The records of ``path``, parsed once per process while the dataset's file stays the same one.

    A run's later stages (coverage, rollout, difficulty, export, report) all read the accepted tasks,
    about 70 KB of JSON each; parsing them once instead of five times is a second of an airline run.
    The records are shared between callers, which must not edit them (the simulator's per-task caches
    assume the same). A dataset written again is a new file (:func:`save_records` renames a staged
    folder into place), so its inode, size or modification time tells a stale entry."""
    file = path / "data" / _ARROW_FILE
    try:
        info = file.stat()
    except OSError:
        return list(load_records(path, model))
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    key = (str(path.resolve()), model)
    hit = _SHARED.get(key)
    if hit is not None and hit[0] == stamp:
        return list(hit[1])
    records = list(load_records(path, model))
    _SHARED.pop(key, None)
    if len(_SHARED) >= _SHARED_SIZE:
        _SHARED.pop(next(iter(_SHARED)))
    _SHARED[key] = (stamp, records)
    return list(records)


def load_rows(path: Path) -> Iterator[str]:
    """Stream the records' JSON text (for work that parses them elsewhere, e.g. on a cluster's workers)."""
    for blobs in _column_batches(path, "json"):
        yield from blobs


def count_records(path: Path) -> int:
    from datasets import load_from_disk

    return len(load_from_disk(str(path / "data")))
