"""Write an induced pack as a pack folder (docs: PACK_FORMAT.md): pack.toml, policy.md, tools.json,
handlers/TOOL.py, state/COLLECTION.json and induce.json. Kept in one place so that it can delegate to
the pack writer once that exists."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.types import ToolSpec

__all__ = ["toml_string", "write_pack_folder"]


def toml_string(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def _pack_toml(name: str, description: str, tools: list[ToolSpec], collections: Mapping[str, str],
               aliases: Mapping[str, str]) -> str:
    writes = ", ".join(toml_string(spec.name) for spec in tools if spec.writes)
    lines = [f"name = {toml_string(name)}", f"description = {toml_string(description)}", f"writes = [{writes}]", ""]
    for collection, key in collections.items():
        lines += [f"[collections.{toml_string(collection)}]", f"key = {toml_string(key)}", ""]
    if aliases:
        lines.append("[recorded_key_aliases]")
        lines += [f"{toml_string(today)} = {toml_string(recorded)}" for today, recorded in aliases.items()]
        lines.append("")
    return "\n".join(lines)


def write_pack_folder(folder: Path, *, name: str, description: str, policy: str, tools: list[ToolSpec],
                      collections: Mapping[str, str], state: Mapping[str, Any], aliases: Mapping[str, str],
                      report: Mapping[str, Any]) -> Path:
    """Write every file of the pack folder (overwriting an earlier induction) and return the folder."""
    folder = Path(folder)
    (folder / "handlers").mkdir(parents=True, exist_ok=True)
    (folder / "state").mkdir(parents=True, exist_ok=True)
    for old in (folder / "handlers").glob("*.py"):
        old.unlink()
    for old in (folder / "state").glob("*.json"):
        old.unlink()
    (folder / "pack.toml").write_text(_pack_toml(name, description, tools, collections, aliases), encoding="utf-8")
    if policy:
        (folder / "policy.md").write_text(policy if policy.endswith("\n") else policy + "\n", encoding="utf-8")
    schemas = [spec.openai_schema() for spec in tools]
    (folder / "tools.json").write_text(json.dumps(schemas, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for spec in tools:
        (folder / "handlers" / f"{spec.name}.py").write_text(spec.handler, encoding="utf-8")
    for collection in collections:
        (folder / "state" / f"{collection}.json").write_bytes(orjson.dumps(state.get(collection, {})))
    (folder / "induce.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder
