"""Rollouts: agents run tasks in SimEnv concurrently; every run is saved as a Rollout (a Trace).

    agents = parse_agents("scripted;llm:openai/gpt-4o-mini", seed=0)
    for rollout in iter_rollouts(make_jobs(agents, tasks, k=2), concurrency=8): ...
    run_rollouts(workdir, "scripted", k=2, concurrency=8, seed=0)   # the stage: WORKDIR/rollouts

Importing this package is cheap: the LLM agent imports litellm only when it makes its first call.
"""

from clawloop_synth.rollout.llm_agent import DEFAULT_MAX_TURNS, LLMAgent
from clawloop_synth.rollout.runner import Job, iter_rollouts, make_jobs
from clawloop_synth.rollout.spec import SPEC_HELP, parse_agents
from clawloop_synth.rollout.stage import RolloutStats, load_rollouts, load_tasks, run_rollouts

__all__ = [
    "DEFAULT_MAX_TURNS",
    "SPEC_HELP",
    "Job",
    "LLMAgent",
    "RolloutStats",
    "iter_rollouts",
    "load_rollouts",
    "load_tasks",
    "make_jobs",
    "parse_agents",
    "run_rollouts",
]
