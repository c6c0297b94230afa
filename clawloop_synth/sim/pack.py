"""Domain packs: :func:`load_pack` reads a built-in pack by name or a pack folder by path.

The pack itself (:class:`DomainPack`: tools, state, and the slicing of tasks out of it) is in
:mod:`clawloop_synth.sim.domain`, its folder format in :mod:`clawloop_synth.sim.pack_folder`; both are
re-exported here, the one place callers import packs from. (``domain`` imports neither of the others,
so this facade imports no module that imports it back.)
"""

from __future__ import annotations

from clawloop_synth.sim.domain import Call, DateWindow, DomainPack, Refs, Search, State, find_keys
from clawloop_synth.sim.pack_folder import builtin_names, load_pack

__all__ = [
    "Call",
    "DateWindow",
    "DomainPack",
    "Refs",
    "Search",
    "State",
    "find_keys",
    "load_pack",
    "pack_names",
]


def pack_names() -> list[str]:
    """The built-in packs shipped in the package."""
    return builtin_names()
