"""The demo clinic's data generation (not part of the runtime pack, which is ``clawloop_synth/packs/demo``).

Riverside Clinic's database is generated from a seed (:func:`generate_state`; the pack ships seed 0's
state, rewritten by :func:`write_demo_state`), :func:`build_demo_tasks` cuts templated tasks out of it
(the demo kit of the procedural generator and the input of `sim demo-tasks`), and
:func:`write_demo_traces` runs the scripted agents on them to regenerate ``datasets/demo``. The tools,
handlers and policy they use are read from the demo pack folder. Nothing here is copied from elsewhere.
"""

from __future__ import annotations

from clawloop_synth.demo.state import TODAY, fresh_service, generate_state, write_demo_state
from clawloop_synth.demo.tasks import KINDS, build_demo_tasks, demo_pack
from clawloop_synth.demo.traces import demo_traces, write_demo_traces

__all__ = [
    "KINDS",
    "TODAY",
    "build_demo_tasks",
    "demo_pack",
    "demo_traces",
    "fresh_service",
    "generate_state",
    "write_demo_state",
    "write_demo_traces",
]
