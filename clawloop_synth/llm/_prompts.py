"""Prompt templates: ``prompts/NAME.jinja`` rendered with jinja2 ``StrictUndefined``."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from clawloop_synth.resources import prompts_dir

__all__ = ["prompt_version", "render_prompt"]


@functools.cache
def _env(root: Path) -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(root), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def render_prompt(name: str, **variables: Any) -> str:
    """Render ``prompts/NAME.jinja``; a variable the template uses but is not given raises."""
    return str(_env(prompts_dir()).get_template(f"{name}.jinja").render(**variables))


def prompt_version(name: str) -> str:
    """A short content hash of the template, for provenance (changes whenever the text does)."""
    return hashlib.sha256((prompts_dir() / f"{name}.jinja").read_bytes()).hexdigest()[:12]
