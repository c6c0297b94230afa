"""Locate the prompt templates and JSON schemas, installed (wheel) or in a source checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_dir", "prompts_dir", "schemas_dir"]

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The wheel ships top-level ``prompts/`` and ``schemas/`` inside the package as ``_data/NAME``."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def prompts_dir() -> Path:
    return data_dir("prompts")


def schemas_dir() -> Path:
    return data_dir("schemas")
