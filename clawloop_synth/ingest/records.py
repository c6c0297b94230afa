"""Build validated trace records (``TraceRecord`` dicts) from reader output, turning validation errors into
InputErrors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from pydantic import ValidationError

from clawloop_synth.ingest.chat import Where
from clawloop_synth.ingest.trace_record import TRACE_RECORD, TraceRecord

__all__ = ["DROPPED_KEY", "make_trace", "optional_reward"]

DROPPED_KEY = "_ingest_dropped"  # taken out of metadata by the ingest stage, which counts it


def make_trace(fields: dict[str, Any], where: Where, raw: dict[str, Any] | None = None,
               mapped: Iterable[str] = ()) -> TraceRecord:
    """Validate ``fields`` as a trace record (``types.Trace`` as a dict), keeping what the source has
    beyond them in ``metadata``.

    ``raw``'s keys that are not in ``mapped`` (the ones the reader turned into trace fields) go to
    metadata under their own name (under ``source_fields`` when the name is taken); message fields
    the chat normalizer had no slot for go to ``metadata.message_extras``.
    """
    metadata = dict(fields.get("metadata") or {})
    if raw is not None:
        known = set(mapped)
        for key, value in raw.items():
            if key in known or value is None:
                continue
            if key in metadata:
                metadata.setdefault("source_fields", {})[key] = value
            else:
                metadata[key] = value
    if where.message_extras:
        extras = metadata.setdefault("message_extras", {})
        for index, extra in where.message_extras.items():
            extras.setdefault(index, {}).update(extra)
    if where.dropped:
        metadata[DROPPED_KEY] = sorted(set(where.dropped))
    if metadata != fields.get("metadata"):
        fields = {**fields, "metadata": orjson.loads(orjson.dumps(metadata, default=str))}
    try:
        return TRACE_RECORD.validate_python(fields)
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
