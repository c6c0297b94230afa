"""The offline procedural generator: base tasks from domain kits, failure injectors, self-checks.

Public API: :class:`ProceduralGenerator` (the ``procedural`` generator of the generate stage),
:func:`inject` and :data:`INJECTORS` (one per targetable leaf), :func:`exemplar_codes` and
:func:`exemplar_trace` (the targeting rule), :func:`task_text` (the near-duplicate text view),
:func:`register_kit` / :func:`kit_for` (per-domain knowledge).
"""

from __future__ import annotations

from clawloop_synth.generate.procedural.base import BaseTask, DomainKit, KitContext, Scenario, base_from_scenario
from clawloop_synth.generate.procedural.generator import ProceduralGenerator, kit_for, register_kit
from clawloop_synth.generate.procedural.injectors import INJECTORS, Variant, inject, targetable, untargetable_reason
from clawloop_synth.generate.procedural.targeting import ExemplarAgent, exemplar_codes, exemplar_trace, task_text

__all__ = [
    "INJECTORS",
    "BaseTask",
    "DomainKit",
    "ExemplarAgent",
    "KitContext",
    "ProceduralGenerator",
    "Scenario",
    "Variant",
    "base_from_scenario",
    "exemplar_codes",
    "exemplar_trace",
    "inject",
    "kit_for",
    "register_kit",
    "targetable",
    "task_text",
    "untargetable_reason",
]
