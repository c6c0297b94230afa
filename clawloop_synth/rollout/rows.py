"""What one rollout becomes on disk and in the stats: its browse columns and its (agent, reward, stop) brief.

Shared by the in-driver, remote-engine and forked-pool paths of the stage, so all three write the same rows."""

from __future__ import annotations

from typing import Any

from clawloop_synth.types import Rollout

__all__ = ["COLUMN_TYPES", "brief", "row_columns"]

COLUMN_TYPES: dict[str, type] = {"agent": str, "task_id": str, "attempt": int, "reward": float}


def brief(rollout: Rollout) -> tuple[str, float | None, str]:
    """What :class:`~clawloop_synth.rollout.stage.RolloutStats` counts of one rollout."""
    return rollout.agent, rollout.reward, str(rollout.metadata.get("stop", "script"))


def row_columns(rollout: Rollout) -> dict[str, Any]:
    """The browse columns of a rollout's dataset row (read back without parsing the record)."""
    return {"agent": rollout.agent, "task_id": rollout.task_id, "attempt": rollout.attempt, "reward": rollout.reward}
