"""Write the JSON Schemas of the public contracts into ``schemas/`` (``clawloop-synth schemas``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from clawloop_synth import types

__all__ = ["PUBLIC_MODELS", "render_schemas", "write_schemas"]

PUBLIC_MODELS: tuple[type[BaseModel], ...] = (
    types.Trace, types.Failure, types.FailureCluster, types.ToolSpec, types.TaskSpec,
    types.VerifyReport, types.Rollout,
)


def render_schemas() -> dict[str, str]:
    """File name -> JSON text for every public contract."""
    return {f"{model.__name__}.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
            for model in PUBLIC_MODELS}


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        (out / name).write_text(text)
        written.append(out / name)
    return written
