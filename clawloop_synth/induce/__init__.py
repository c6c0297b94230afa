"""Induce a domain pack from traces: tools, policy, state and sandboxed handlers, with their fidelity.

``induce_pack(traces, out_dir, db=None, model=None) -> Path`` writes a pack folder (see
``clawloop_synth.induce.stage``); ``induce`` returns the pack in memory for replays and evals.
"""

from clawloop_synth.induce.stage import InducedPack, induce, induce_pack, to_domain_pack

__all__ = ["InducedPack", "induce", "induce_pack", "to_domain_pack"]
