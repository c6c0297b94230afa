"""Rewards given beside the traces (``ingest --rewards FILE``), for sources whose files carry none.

Two shapes: a JSON object mapping an id to a reward (a number in [0, 1], or a boolean: resolved or
not; ``{"resolved": bool}`` per id as SWE-bench's per-instance reports write it), or SWE-bench's
summary report, ``{"resolved_ids": [...], "unresolved_ids": [...], ...}``: listed as resolved is 1,
listed in ``unresolved_ids``, ``error_ids``, ``empty_patch_ids``, ``incomplete_ids`` or among the
``submitted_ids``/``completed_ids`` but not resolved is 0. A trace is matched by its
``metadata.instance_id``, its ``task_id`` or its ``id``, in that order; a trace the file does not
list keeps the reward its source gave (none, usually) and is counted.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["RewardsFile"]

_FAILED_LISTS = ("unresolved_ids", "error_ids", "empty_patch_ids", "incomplete_ids")
_ALL_LISTS = ("submitted_ids", "completed_ids")


def _value(raw: Any, file: str, key: str) -> float:
    if isinstance(raw, dict) and "resolved" in raw:
        raw = raw["resolved"]
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float) and 0.0 <= raw <= 1.0:
        return float(raw)
    raise InputError(f"a reward must be true/false or a number in [0, 1], got {raw!r}", file=file, field=key)


def _ids(report: dict[str, Any], key: str, file: str) -> list[str]:
    raw = report.get(key) or []
    if not isinstance(raw, list):
        raise InputError("must be a list of instance ids", file=file, field=key)
    return [str(i) for i in raw]


class RewardsFile:
    """The rewards of one file, applied to traces as they stream by, with counts for ``ingest.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        file = str(path)
        try:
            value = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            raise InputError("no such rewards file", file=file) from None
        except orjson.JSONDecodeError as exc:
            raise InputError(f"the rewards file is not valid JSON ({exc})", file=file) from None
        if not isinstance(value, dict):
            raise InputError("the rewards file must be a JSON object (id -> reward, or a SWE-bench report "
                             "with resolved_ids)", file=file)
        self.rewards: dict[str, float] = {}
        if "resolved_ids" in value:
            for key in (*_FAILED_LISTS, *_ALL_LISTS):
                self.rewards.update((i, 0.0) for i in _ids(value, key, file))
            self.rewards.update((i, 1.0) for i in _ids(value, "resolved_ids", file))
            self.form = "swe-bench report"
        else:
            self.rewards = {str(key): _value(raw, file, str(key)) for key, raw in value.items()}
            self.form = "id -> reward"
        self.used: set[str] = set()
        self.matched = 0
        self.replaced = 0
        self.not_listed = 0

    def apply(self, trace: TraceRecord) -> TraceRecord:
        """``trace`` with the file's reward for it (unchanged when the file does not list it); the
        record is updated in place."""
        for key in (trace["metadata"].get("instance_id"), trace["task_id"], trace["id"]):
            if key is not None and str(key) in self.rewards:
                reward = self.rewards[str(key)]
                self.used.add(str(key))
                self.matched += 1
                if trace["reward"] is not None and trace["reward"] != reward:
                    self.replaced += 1
                trace["reward"] = reward
                return trace
        self.not_listed += 1
        return trace

    def fresh(self) -> RewardsFile:
        """The same rewards with nothing counted yet (for one file's pass on a worker)."""
        out = copy.copy(self)
        out.used, out.matched, out.replaced, out.not_listed = set(), 0, 0, 0
        return out

    def counts(self) -> tuple[set[str], int, int, int]:
        """What was counted (entries used, traces matched, rewards replaced, traces not listed): small,
        unlike the rewards themselves, so a worker sends these back."""
        return self.used, self.matched, self.replaced, self.not_listed

    def merge(self, counts: tuple[set[str], int, int, int]) -> None:
        """Add the :meth:`counts` of a :meth:`fresh` copy that one file went through."""
        used, matched, replaced, not_listed = counts
        self.used |= used
        self.matched += matched
        self.replaced += replaced
        self.not_listed += not_listed

    def summary(self) -> dict[str, Any]:
        return {"file": str(self.path), "form": self.form, "entries": len(self.rewards),
                "traces_matched": self.matched, "source_rewards_replaced": self.replaced,
                "traces_not_listed": self.not_listed, "entries_unused": len(self.rewards) - len(self.used)}
