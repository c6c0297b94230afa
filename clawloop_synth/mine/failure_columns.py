"""What clustering needs of every failure, held as small integer columns: a million failures fit in a few MB.

The cluster stage groups failures by card and names each group from its members' codes, tools and
cards. Holding every Failure record for that takes about 2 KB a failure; here each failure is three
integers (its card, code and tool, each distinct string held once), read in one pass over the stored
JSON. Ids and whole records are read back from the dataset only for the rows that are asked for (a
cluster's members, the exemplars).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson

from clawloop_synth.types import Failure

__all__ = ["FailureColumns", "Member"]


class Member(NamedTuple):
    """One failure as the cluster labels see it."""

    code: str
    tool: str | None
    card: str


@dataclass
class FailureColumns:
    """Per failure (in stored order) the index of its card, code and tool in ``cards``, ``codes``, ``tools``."""

    path: Path
    cards: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    tools: list[str | None] = field(default_factory=list)
    card: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    tool: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    @classmethod
    def read(cls, path: Path) -> FailureColumns:
        """One pass over the failures dataset at ``path`` (written by the mine stage)."""
        from array import array

        from clawloop_synth.store import load_rows

        index: dict[str, dict[str | None, int]] = {"card": {}, "code": {}, "tool": {}}
        columns = {"card": array("q"), "code": array("i"), "tool": array("i")}
        for row in load_rows(path):
            record = orjson.loads(row)
            for name in ("card", "code", "tool"):
                seen = index[name]
                value = record.get(name)
                columns[name].append(seen.setdefault(value, len(seen)))
        out = cls(path, [str(c) for c in index["card"]], [str(c) for c in index["code"]], list(index["tool"]))
        out.card = np.frombuffer(columns["card"], dtype=np.int64).copy()
        out.code = np.frombuffer(columns["code"], dtype=np.int32).copy()
        out.tool = np.frombuffer(columns["tool"], dtype=np.int32).copy()
        return out

    def __len__(self) -> int:
        return len(self.card)

    def members(self, indices: Sequence[int] | np.ndarray) -> list[Member]:
        """The failures at ``indices`` as :class:`Member` (their strings shared, not copied)."""
        return [Member(self.codes[self.code[i]], self.tools[self.tool[i]], self.cards[self.card[i]]) for i in indices]

    def _table(self):  # type: ignore[no-untyped-def]
        from datasets import load_from_disk

        return load_from_disk(str(self.path / "data")).data  # memory-mapped: only the rows taken are read

    def ids(self, indices: np.ndarray) -> list[str]:
        """The ids of the failures at ``indices``, in that order."""
        import pyarrow as pa

        return [str(i) for i in self._table().column("id").take(pa.array(indices, type=pa.int64())).to_pylist()]

    def records_by_id(self, ids: Iterable[str]) -> dict[str, Failure]:
        """The whole records of the failures with these ids (a scan of the id column, then only their rows)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self._table()
        wanted = pa.array(sorted(set(ids)), type=pa.string())
        at = pc.indices_nonzero(pc.is_in(table.column("id"), value_set=wanted))
        records = (Failure.model_validate_json(row) for row in table.column("json").take(at).to_pylist())
        return {f.id: f for f in records}
