"""Built-in domain packs; importing this package registers each of them with ``load_pack``."""

from __future__ import annotations

from clawloop_synth.sim.domains import (
    airline,  # noqa: F401  (registers "airline")
    demo,  # noqa: F401  (registers "demo")
)

__all__: list[str] = []
