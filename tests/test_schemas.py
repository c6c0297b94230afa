"""``schemas/*.json`` must be what ``clawloop-synth schemas`` generates from ``types.py`` today."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.schema_export import render_schemas

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def test_schemas_are_fresh() -> None:
    expected = render_schemas()
    stale = [name for name, text in expected.items()
             if not (SCHEMAS / name).exists() or (SCHEMAS / name).read_text() != text]
    extra = sorted({p.name for p in SCHEMAS.glob("*.json")} - set(expected))
    assert not stale and not extra, (
        f"schemas/ is stale ({stale or extra}); regenerate with `clawloop-synth schemas`")
