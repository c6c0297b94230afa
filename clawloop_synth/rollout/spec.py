"""Agent SPEC strings: which agents a rollout runs.

A SPEC is one or more items separated by ``;`` (or given as repeated ``--agents`` options):

- ``scripted``: the graded offline population with task-dependent difficulty
  (``agents.scripted_population(seed, per_opportunity=True)``): the reference agent and seven flawed
  agents whose chance of a slip *per opportunity* runs from 0.004 to 0.065. Every lookup can be
  skipped, every reformattable argument mis-formatted, every transient error can end the run, every
  step before the task is done can be the last, every call can name a made-up tool or be sent twice,
  every write can fail unnoticed; distractor entities in the state make every slip likelier. So
  longer tasks with more lookups, arguments, transient errors and distractors are harder;
- ``scripted:per_run``: the same population with per-run rates (the chance of drawing a flaw at all
  runs from 0.1 to 1.0, whatever the task; the demo traces' population): every task is about as
  hard as every other;
- ``reference``: replays each task's reference solution;
- ``flawed:MODE=RATE,MODE=RATE[,seed=N][,name=NAME][,per=run|opportunity][,distractor_load=X]``: one
  flawed agent, e.g. ``flawed:premature_finish=0.5,repeated_call=0.2`` (modes: ``agents.FLAW_MODES``);
  rates are per run unless ``per=opportunity``; ``distractor_load`` (per-opportunity only) raises
  every rate by that fraction per distractor entity;
- ``llm:MODEL`` (any litellm model string, e.g. ``llm:openai/gpt-4o-mini``), or ``llm`` with
  ``--model``: the tool-calling ``LLMAgent``; ``llm:MODEL,max_turns=N`` bounds its turns.

Agent names must be unique: the IRT model treats each name as one agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clawloop_synth.agents import FLAW_MODES, FlawedAgent, ReferenceAgent, scripted_population
from clawloop_synth.errors import InputError

__all__ = ["SPEC_HELP", "parse_agents"]

SPEC_HELP = ("Agents, ';'-separated or repeated: 'scripted' (graded population of 8, flaw rates per "
             "opportunity: longer, busier tasks are harder), 'scripted:per_run' (rates per run), 'reference', "
             "'flawed:MODE=RATE,...[,seed=N][,name=NAME][,per=run|opportunity][,distractor_load=X]' (modes: "
             + ", ".join(FLAW_MODES) + "), "
             "'llm:MODEL[,max_turns=N]' or 'llm' with --model.")


def _options(text: str, item: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"expected KEY=VALUE, got {part!r}", record=item, field="agents")
        out[key.strip()] = value.strip()
    return out


def _number(value: str, item: str, kind: type = float) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise InputError(f"not a number: {value!r}", record=item, field="agents") from None


def _flawed(body: str, item: str, seed: int) -> FlawedAgent:
    options = _options(body, item)
    agent_seed = _number(options.pop("seed"), item, int) if "seed" in options else seed
    name = options.pop("name", None)
    per = options.pop("per", "run").lower()
    if per not in ("run", "opportunity"):
        raise InputError(f"per must be 'run' or 'opportunity', got {per!r}", record=item, field="agents")
    load = _number(options.pop("distractor_load"), item) if "distractor_load" in options else 0.0
    if not options:
        raise InputError("a flawed agent needs at least one MODE=RATE", record=item, field="agents")
    flaws = {mode: _number(rate, item) for mode, rate in options.items()}
    try:
        return FlawedAgent(flaws, seed=agent_seed, name=name, per_opportunity=per == "opportunity",
                           distractor_load=load)
    except ValueError as exc:
        raise InputError(str(exc), record=item, field="agents") from None


def _llm(body: str, item: str, model: str | None, api_base: str | None, concurrency: int) -> Any:
    from clawloop_synth.rollout.llm_agent import LLMAgent

    head, _, rest = body.partition(",")
    options = _options(rest, item)
    name = head.strip() or model
    if not name:
        raise InputError("'llm' needs a model: 'llm:openai/gpt-4o-mini' or --model", record=item, field="agents")
    max_turns = _number(options.pop("max_turns"), item, int) if "max_turns" in options else None
    if options:
        raise InputError(f"unknown llm option(s) {sorted(options)}; known: max_turns", record=item,
                         field="agents")
    return LLMAgent.from_model(name, api_base=api_base, concurrency=concurrency,
                               **({"max_turns": max_turns} if max_turns is not None else {}))


def parse_agents(specs: str | Iterable[str], *, seed: int = 0, model: str | None = None,
                 api_base: str | None = None, concurrency: int = 8) -> list[Any]:
    """Agents for a SPEC (see the module docstring); ``seed`` seeds the scripted and flawed agents."""
    items = [specs] if isinstance(specs, str) else list(specs)
    agents: list[Any] = []
    for item in (part.strip() for spec in items for part in spec.split(";")):
        if not item:
            continue
        kind, _, body = item.partition(":")
        kind = kind.strip().lower()
        if kind == "scripted" and body.strip().lower() in ("", "per_opportunity", "per_run"):
            agents.extend(scripted_population(seed, per_opportunity=body.strip().lower() != "per_run"))
        elif kind == "reference" and not body:
            agents.append(ReferenceAgent())
        elif kind == "flawed":
            agents.append(_flawed(body, item, seed))
        elif kind == "llm":
            agents.append(_llm(body, item, model, api_base, concurrency))
        else:
            raise InputError(f"unknown agent spec {item!r}. {SPEC_HELP}", field="agents")
    if not agents:
        raise InputError(f"no agents given. {SPEC_HELP}", field="agents")
    seen: set[str] = set()
    for agent in agents:
        if agent.name in seen:
            raise InputError(f"agent {agent.name!r} is listed twice; give it another name", field="agents")
        seen.add(agent.name)
    return agents
