"""Agents that run tasks in SimEnv: scripted ones (reference replay, planted flaws) and their runner.

``FlawedAgent(flaws={"skipped_lookup": 0.3, ...}, seed=0)`` plants the modes of :data:`FLAW_MODES`
at the given rates; :func:`scripted_population` builds a graded population of them;
:func:`run_agent` runs one episode and returns it as a Trace in OpenAI chat form.
"""

from __future__ import annotations

from ._flaws import FLAW_MODES, GIVE_UP, GIVE_UP_LOOP, GIVE_UP_TRANSIENT
from .run import default_system_prompt, run_agent
from .scripted import Agent, Episode, FlawedAgent, ReferenceAgent, scripted_population

__all__ = [
    "FLAW_MODES",
    "GIVE_UP",
    "GIVE_UP_LOOP",
    "GIVE_UP_TRANSIENT",
    "Agent",
    "Episode",
    "FlawedAgent",
    "ReferenceAgent",
    "default_system_prompt",
    "run_agent",
    "scripted_population",
]
