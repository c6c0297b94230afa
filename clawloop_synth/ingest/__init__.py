"""Read agent traces from every supported format into ``Trace`` records.

``iter_traces(paths)`` streams Trace records; ``iter_items(paths)`` also yields the per-record errors
(with the file, record and field they name) so a caller can skip and count them. ``iter_records`` is
``iter_items`` with each trace as a validated plain dict (``TraceRecord``), the form the ingest stage
streams and writes: it skips building pydantic objects that would only be serialized again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.trace_record import TraceRecord, to_trace
from clawloop_synth.types import Trace

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["FileEvents", "iter_items", "iter_records", "iter_traces", "plan_files", "read_path", "read_whole"]


def _files(path: Path) -> Iterator[Path]:
    from clawloop_synth.ingest.hf import is_saved_dataset

    if not path.exists():
        raise InputError("no such file or directory", file=str(path))
    if path.is_file() or is_saved_dataset(path):
        yield path
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        yield from _files(child)


def read_path(path: Path) -> tuple[str, Iterator[TraceRecord | InputError]]:
    """Detect one file's (or saved dataset's) format and return it with its record iterator."""
    from clawloop_synth.ingest import clawloop, hf, mini_swe_agent, openai_chat, tau_bench, who_and_when
    from clawloop_synth.ingest.detect import detect_format

    try:
        kind, layout = detect_format(path)
    except PermissionError:
        raise InputError("cannot read the file (permission denied)", file=str(path)) from None
    if layout == "dataset":
        return kind, hf.read_saved_dataset(path)
    if layout == "parquet":
        return kind, hf.read_parquet(path)
    if kind == "tau_bench":
        return kind, tau_bench.read_tau_bench(path)
    if kind == "who_and_when":
        return kind, who_and_when.read_who_and_when(path)
    if kind == "mini_swe_agent":
        return kind, mini_swe_agent.read_mini_swe_agent(path, layout)
    if kind == "clawloop":
        if layout == "object":
            return kind, clawloop.read_single(path)
        return kind, clawloop.read_clawloop(path, as_list=layout == "list")
    if layout == "object":
        return kind, openai_chat.read_single(path)
    return kind, openai_chat.read_openai_chat(path, as_list=layout == "list")


def _digest(path: Path) -> str | None:
    if not path.is_file():
        return None  # a saved dataset folder: its files are compared as a whole by nobody
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None  # read_path names the problem


def _referenced(files: list[Path]) -> dict[Path, Path]:
    """Message files that a ClawLoop archive among ``files`` refers to -> that archive."""
    from clawloop_synth.ingest.clawloop import archive_refs
    from clawloop_synth.ingest.jsonstream import first_bytes

    out: dict[Path, Path] = {}
    for path in files:
        if path.is_file() and b'"messages_ref"' in first_bytes(path, 1 << 14):
            for ref in archive_refs(path):
                out.setdefault(ref, path)
    return out


class FileEvents:
    """Callbacks for what happens to whole files (the ingest stage counts them)."""

    def duplicate(self, path: Path, same_as: Path) -> bool:
        """A file byte-identical to one read before; True to skip it."""
        return False

    def referenced(self, path: Path, archive: Path) -> None:
        """A messages file read through the archive that refers to it (so not read on its own)."""


def iter_items(
    paths: Iterable[Path | str],
    on_file_error: Callable[[Path, str | None, InputError], None] | None = None,
    events: FileEvents | None = None,
    engine: Engine | None = None,
) -> Iterator[tuple[Path, str, Trace | InputError]]:
    """Yield (file, format, Trace or record error) for every record under ``paths`` (see ``iter_records``)."""
    for path, kind, item in iter_records(paths, on_file_error, events, engine):
        yield path, kind, item if isinstance(item, InputError) else to_trace(item)


def iter_records(
    paths: Iterable[Path | str],
    on_file_error: Callable[[Path, str | None, InputError], None] | None = None,
    events: FileEvents | None = None,
    engine: Engine | None = None,
) -> Iterator[tuple[Path, str, TraceRecord | InputError]]:
    """Yield (file, format, trace record or record error) for every record under ``paths``.

    File-level problems (unreadable, unknown format, truncated) raise InputError, or, when
    ``on_file_error(file, format or None, error)`` is given, are reported to it and the walk goes
    on with the next file (records read before a truncation are kept). ``events`` hears of files
    identical to an earlier one and of message files a ClawLoop archive refers to. With an ``engine`` that
    runs elsewhere (``ray``), files are read on its workers; the output is the same.
    """
    todo = plan_files(paths, on_file_error, events)
    if engine is not None and not engine.in_process:
        # Files read whole on the engine's workers, handed back in file order.
        for path, (found, items, error) in zip(todo, engine.map_ordered(read_whole, todo), strict=True):
            for item in items:
                yield path, found or "unknown", item
            if error is not None:
                if on_file_error is None:
                    raise error
                on_file_error(path, found, error)
        return
    for path in todo:
        kind: str | None = None
        try:
            kind, records = read_path(path)
            for item in records:
                yield path, kind, item
        except InputError as exc:
            if on_file_error is None:
                raise
            on_file_error(path, kind, exc)


def plan_files(
    paths: Iterable[Path | str],
    on_file_error: Callable[[Path, str | None, InputError], None] | None = None,
    events: FileEvents | None = None,
) -> list[Path]:
    """The files under ``paths`` to read, in reading order: without the files byte-identical to an earlier
    one that ``events`` skips, nor the message files a ClawLoop archive among them refers to (both reported
    to ``events``). A missing root raises InputError, or is reported to ``on_file_error``."""
    events = events or FileEvents()
    files: list[Path] = []
    for root in paths:
        try:
            files += list(_files(Path(root)))
        except InputError as exc:
            if on_file_error is None:
                raise
            on_file_error(Path(root), None, exc)
    referenced = _referenced(files)
    # Only files of equal size can be equal: the others are never hashed.
    sizes = Counter(path.stat().st_size for path in files if path.is_file())
    digests: dict[str, Path] = {}
    todo: list[Path] = []
    for path in files:
        archive = referenced.get(path.resolve())
        if archive is not None:
            events.referenced(path, archive)
            continue
        digest = _digest(path) if path.is_file() and sizes[path.stat().st_size] > 1 else None
        if digest is not None and digest in digests:
            if events.duplicate(path, digests[digest]):
                continue
        elif digest is not None:
            digests[digest] = path
        todo.append(path)
    return todo


def read_whole(path: Path) -> tuple[str | None, list[TraceRecord | InputError], InputError | None]:
    """One file's format, its records, and the file-level error that ended the read (None when none):
    a truncated file keeps the records read before the truncation."""
    kind: str | None = None
    records: list[TraceRecord | InputError] = []
    try:
        kind, items = read_path(path)
        records.extend(items)
    except InputError as exc:
        return kind, records, exc
    return kind, records, None


def iter_traces(paths: Iterable[Path | str]) -> Iterator[Trace]:
    """Stream the Trace records under ``paths``; the first bad record raises InputError."""
    for _, _, item in iter_items(paths):
        if isinstance(item, InputError):
            raise item
        yield item
