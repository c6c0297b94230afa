"""Build validated ``Trace`` records from reader output, turning validation errors into InputErrors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from clawloop_synth.ingest.chat import Where
from clawloop_synth.types import Trace

__all__ = ["make_trace"]


def make_trace(fields: dict[str, Any], where: Where) -> Trace:
    try:
        return Trace.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise where.error(first["msg"], field) from None


def optional_reward(value: Any, where: Where, field: str = "reward") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(f"reward must be a number, got {value!r}", field)
    if not 0.0 <= value <= 1.0:
        raise where.error(f"reward must be in [0, 1], got {value}", field)
    return float(value)
