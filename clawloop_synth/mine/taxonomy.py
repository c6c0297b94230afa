"""The failure taxonomy: codes ``author/module/leaf`` loaded from ``taxonomy.toml``.

The table is data, not code, so that a team can read and extend it without touching the
detectors. The error-text patterns live beside each leaf; :func:`classify_error` tries them in
file order.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["FALLBACK_ERROR", "UNEXPLAINED", "Leaf", "classify_error", "is_code", "load_taxonomy"]

_FILE = Path(__file__).with_name("taxonomy.toml")

FALLBACK_ERROR = "environment/tool/unknown"
UNEXPLAINED = "agent/outcome/unexplained"


@dataclass(frozen=True)
class Leaf:
    """One taxonomy leaf: its code, a one-line definition, where it comes from, its text patterns."""

    code: str
    definition: str
    source: str
    patterns: tuple[re.Pattern[str], ...]

    @property
    def author(self) -> str:
        return self.code.split("/")[0]

    @property
    def module(self) -> str:
        return self.code.split("/")[1]

    @property
    def name(self) -> str:
        return self.code.split("/")[2]


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = _FILE) -> dict[str, Leaf]:
    """Read the taxonomy table; keys are codes, in file order."""
    data = tomllib.loads(path.read_text())
    leaves: dict[str, Leaf] = {}
    for row in data["leaf"]:
        code = row["code"]
        if code.count("/") != 2:
            raise ValueError(f"{path}: taxonomy code {code!r} is not author/module/leaf")
        if code in leaves:
            raise ValueError(f"{path}: duplicate taxonomy code {code!r}")
        patterns = tuple(re.compile(p, re.IGNORECASE) for p in row.get("patterns", []))
        leaves[code] = Leaf(code, row["definition"], row.get("source", ""), patterns)
    return leaves


def is_code(code: str) -> bool:
    return code in load_taxonomy()


def classify_error(text: str) -> str:
    """The leaf code of a tool error's text; :data:`FALLBACK_ERROR` when no pattern matches."""
    for leaf in load_taxonomy().values():
        if any(p.search(text) for p in leaf.patterns):
            return leaf.code
    return FALLBACK_ERROR
