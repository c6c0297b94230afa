"""The simulator: sandboxed tool handlers, ``SimEnv`` episodes, checks and task verification.

Public API (stable; other stages code against it):

- :func:`compile_handler`, :class:`Handler`, :class:`Limits`, :class:`SandboxError`,
  :class:`HandlerError` (``sandbox``)
- :class:`SimEnv`, :class:`ToolResult`, :class:`StepRecord` (``env``)
- :func:`run_checks`, :func:`reward_of`, :func:`reference_state`, :func:`normalize_text` (``checks``)
- :func:`verify`, :func:`verify_once` (once per task content; :func:`recorded_reports` and :func:`adopt_reports`
  carry its reports from pool workers to the driver), :func:`run_solution`, :data:`RULES` (``verify``)
- :func:`copy_state`, :func:`diff_paths` (``state``)
"""

from clawloop_synth.sim import isolation as _isolation
from clawloop_synth.sim.checks import normalize_text, reference_state, register_env, reward_of, run_checks
from clawloop_synth.sim.env import DEFAULT_MAX_STEPS, SimEnv, StepRecord, ToolResult
from clawloop_synth.sim.errors import HandlerError, SandboxError
from clawloop_synth.sim.sandbox import Handler, Limits, compile_handler, use_isolation
from clawloop_synth.sim.state import copy_state, diff_paths
from clawloop_synth.sim.verify import RULES, adopt_reports, recorded_reports, run_solution, verify, verify_once

# Lower modules call higher ones through these (checks plays references in SimEnv; the sandbox runs
# isolated handlers in the worker pool), so that neither imports a module that imports it back.
register_env(SimEnv)
use_isolation(_isolation)

__all__ = [
    "DEFAULT_MAX_STEPS",
    "RULES",
    "Handler",
    "HandlerError",
    "Limits",
    "SandboxError",
    "SimEnv",
    "StepRecord",
    "ToolResult",
    "adopt_reports",
    "compile_handler",
    "copy_state",
    "diff_paths",
    "normalize_text",
    "recorded_reports",
    "reference_state",
    "reward_of",
    "run_checks",
    "run_solution",
    "verify",
    "verify_once",
]
