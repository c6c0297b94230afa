"""Write an induced pack as a pack folder: the pack writer's files (pack.toml, policy.md, tools.json,
handlers/TOOL.py, state/COLLECTION.json) plus ``induce.json`` with what induction found."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clawloop_synth.sim.pack import DomainPack
from clawloop_synth.sim.pack_folder import write_pack

__all__ = ["write_pack_folder"]


def write_pack_folder(pack: DomainPack, folder: Path, state: Mapping[str, Any], report: Mapping[str, Any]) -> Path:
    """Write the pack folder (replacing an earlier induction's files) and its ``induce.json``."""
    folder = write_pack(pack, Path(folder), dict(state))
    (folder / "induce.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder
