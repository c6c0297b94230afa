"""What clustering needs of every failure, held as small columns: a million failures fit in about 50 MB.

The cluster stage groups failures by card and names each group from its members' codes, tools and
cards. Holding every Failure record for that takes about 2 KB a failure; here each failure is three
integers (its card, code and tool, each distinct string held once) and its id in one Arrow array, read
in one pass over the stored JSON. A cluster's members are read through views that make each one when it
is read; whole records are read back from the dataset (streamed, not memory-mapped: the pages of a map
stay resident) only for the rows that are asked for (the exemplars).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, overload

import numpy as np
import orjson

from clawloop_synth.types import Failure

__all__ = ["FailureColumns", "IdColumn", "Member", "RowView"]


class Member(NamedTuple):
    """One failure as the cluster labels see it."""

    code: str
    tool: str | None
    card: str


T = TypeVar("T")


class RowView(Sequence[T]):
    """The values ``make(i)`` of the rows at ``indices``, made when read: a cluster of half a million
    failures is read as a sequence without holding half a million objects."""

    def __init__(self, indices: Sequence[int] | np.ndarray, make: Callable[[int], T]) -> None:
        self._indices = indices
        self._make = make

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> RowView[T]: ...

    def __getitem__(self, i: int | slice) -> T | RowView[T]:
        if isinstance(i, slice):
            return RowView(self._indices[i], self._make)
        return self._make(int(self._indices[i]))

    def __iter__(self) -> Iterator[T]:
        make = self._make
        return (make(int(i)) for i in self._indices)


class IdColumn:
    """Strings by row, held as the Arrow arrays they were read in (about 25 bytes a short id). Taken chunk by
    chunk: Arrow's take over chunks would first concatenate them all, a second copy of the column."""

    def __init__(self, chunks: Sequence[Any] = ()) -> None:
        self._chunks = list(chunks)
        self._starts = np.cumsum([0, *(len(c) for c in self._chunks)], dtype=np.int64)

    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._chunks)

    def take(self, indices: Sequence[int] | np.ndarray) -> list[str]:
        """The values at ``indices``, in that order."""
        import pyarrow as pa

        from clawloop_synth.arrow import array as arrow_array

        indices = np.asarray(indices, dtype=np.int64)
        order = np.argsort(indices, kind="stable")
        ranked = indices[order]
        bounds = np.searchsorted(ranked, self._starts)  # where each chunk's rows begin among the sorted ones
        values: list[str] = []
        for k in np.flatnonzero(bounds[1:] > bounds[:-1]):
            local = ranked[bounds[k]:bounds[k + 1]] - self._starts[k]
            values += self._chunks[k].take(arrow_array(local, pa.int64())).to_pylist()
        out = np.empty(len(indices), dtype=object)
        out[order] = values
        return [str(v) for v in out]

    def positions(self, wanted: Iterable[str]) -> np.ndarray:
        """The rows (ascending) whose value is one of ``wanted``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from clawloop_synth.arrow import array as arrow_array
        from clawloop_synth.arrow import to_numpy

        values = arrow_array(sorted(set(wanted)), pa.string())
        found = [to_numpy(pc.indices_nonzero(pc.is_in(chunk, value_set=values))) + start
                 for chunk, start in zip(self._chunks, self._starts, strict=False)]
        return np.concatenate(found).astype(np.int64) if found else np.zeros(0, dtype=np.int64)


@dataclass
class FailureColumns:
    """Per failure (in stored order) the index of its card, code and tool in ``cards``, ``codes``, ``tools``,
    and its id (``id_column``)."""

    path: Path
    cards: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    tools: list[str | None] = field(default_factory=list)
    card: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    tool: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    id_column: IdColumn = field(default_factory=IdColumn)

    @classmethod
    def read(cls, path: Path) -> FailureColumns:
        """One pass over the failures dataset at ``path`` (written by the mine stage)."""
        from array import array

        import pyarrow as pa

        from clawloop_synth.arrow import array as arrow_array
        from clawloop_synth.store import load_batches

        index: dict[str, dict[str | None, int]] = {"card": {}, "code": {}, "tool": {}}
        columns = {"card": array("i"), "code": array("i"), "tool": array("i")}
        ids: list[Any] = []
        for batch in load_batches(path):
            # Copied out of the batch: a slice of it would keep the whole batch (its JSON) alive.
            ids.append(arrow_array(batch.column("id").to_pylist(), pa.string()))
            for row in batch.column("json").to_pylist():
                record = orjson.loads(row)
                for name in ("card", "code", "tool"):
                    seen = index[name]
                    value = record.get(name)
                    columns[name].append(seen.setdefault(value, len(seen)))
        out = cls(path, [str(c) for c in index["card"]], [str(c) for c in index["code"]], list(index["tool"]))
        for name in ("card", "code", "tool"):
            setattr(out, name, np.frombuffer(columns[name], dtype=np.int32).copy())
        out.id_column = IdColumn(ids)
        return out

    def __len__(self) -> int:
        return len(self.card)

    def member(self, i: int) -> Member:
        """Failure ``i`` as a :class:`Member` (its strings shared, not copied)."""
        return Member(self.codes[self.code[i]], self.tools[self.tool[i]], self.cards[self.card[i]])

    def members(self, indices: Sequence[int] | np.ndarray) -> RowView[Member]:
        """The failures at ``indices`` as :class:`Member`, made as they are read."""
        return RowView(indices, self.member)

    def card_texts(self, indices: Sequence[int] | np.ndarray) -> RowView[str]:
        """The cards of the failures at ``indices``, looked up as they are read."""
        cards, card = self.cards, self.card
        return RowView(indices, lambda i: cards[card[i]])

    def ids(self, indices: np.ndarray) -> list[str]:
        """The ids of the failures at ``indices``, in that order."""
        return self.id_column.take(indices)

    def records_by_id(self, ids: Iterable[str]) -> dict[str, Failure]:
        """The whole records of the failures with these ids, in stored order (their rows found in the id
        column, then read in one streaming pass: the dataset is never memory-mapped)."""
        import pyarrow as pa

        from clawloop_synth.arrow import array as arrow_array
        from clawloop_synth.store import load_batches

        at = self.id_column.positions(ids)
        found: dict[str, Failure] = {}
        offset = 0
        for batch in load_batches(self.path):
            if len(found) == len(at):
                break
            mine = at[(at >= offset) & (at < offset + batch.num_rows)] - offset
            offset += batch.num_rows
            for row in batch.column("json").take(arrow_array(mine, pa.int64())).to_pylist():
                record = Failure.model_validate_json(row)
                found[record.id] = record
        return found
