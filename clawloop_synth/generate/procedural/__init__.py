"""The offline procedural generator: base tasks from domain kits, failure injectors, self-checks.

Public API: :class:`ProceduralGenerator` (the ``procedural`` generator of the generate stage),
:func:`inject` and :data:`INJECTORS` (one per targetable leaf), :func:`register_kit` / :func:`kit_for`
(per-domain knowledge; a pack with no hand-written kit gets the generic kit, :mod:`.generic`, which
works in any pack from the tool graph, the state and the traces' own wording). The generator checks its
own tasks with the gate's rules (``sim.verify`` and ``generate.gate.mined_codes``) before it proposes them.
"""

from __future__ import annotations

from clawloop_synth.generate.procedural.base import BaseTask, DomainKit, KitContext, Scenario, base_from_scenario
from clawloop_synth.generate.procedural.generator import ProceduralGenerator, kit_for, register_kit
from clawloop_synth.generate.procedural.injectors import INJECTORS, Variant, inject, targetable, untargetable_reason

__all__ = [
    "INJECTORS",
    "BaseTask",
    "DomainKit",
    "KitContext",
    "ProceduralGenerator",
    "Scenario",
    "Variant",
    "base_from_scenario",
    "inject",
    "kit_for",
    "register_kit",
    "targetable",
    "untargetable_reason",
]
