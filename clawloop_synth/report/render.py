"""The report's HTML from its Jinja template, every value HTML-escaped.

Trace text is untrusted input: autoescaping covers every ``{{ }}``; nothing from the data is placed
inside a script (the page's one script only filters and sorts rows already in the DOM), and the
page's Content-Security-Policy lets only that script run (by nonce) and loads nothing from the
network (images are ``data:`` URIs).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

__all__ = ["TEMPLATE", "render"]

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html.jinja"


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render(data: dict[str, Any], sections: list[tuple[str, str]]) -> str:
    """The page for ``data`` (see ``gather``); ``sections`` are (id, title) in page order."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _number
    env.filters["pct"] = lambda v: "-" if v is None else f"{float(v):.1%}"
    return env.get_template(TEMPLATE.name).render(data=data, sections=sections, nonce=secrets.token_urlsafe(16))
