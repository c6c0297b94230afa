"""Agent SPEC strings."""

from __future__ import annotations

import pytest

from clawloop_synth.agents import FlawedAgent, ReferenceAgent, scripted_population
from clawloop_synth.errors import InputError
from clawloop_synth.rollout import LLMAgent, parse_agents


def test_scripted_population_and_reference() -> None:
    agents = parse_agents("scripted")
    assert len(agents) == 8
    assert isinstance(agents[0], ReferenceAgent)
    assert [a.name for a in parse_agents("reference")] == ["reference"]


def test_scripted_rates_are_per_opportunity_unless_per_run() -> None:
    flawed = [a for a in parse_agents("scripted") if isinstance(a, FlawedAgent)]
    assert len(flawed) == 7 and all(a.per_opportunity and a.distractor_load > 0 for a in flawed)
    per_run = [a for a in parse_agents("scripted:per_run") if isinstance(a, FlawedAgent)]
    assert [a.name for a in per_run] == [a.name for a in flawed]
    assert not any(a.per_opportunity for a in per_run)
    assert [a.flaws for a in per_run] == [a.flaws for a in scripted_population(0)[1:]]


def test_flawed_per_opportunity_option() -> None:
    (agent,) = parse_agents("flawed:skipped_lookup=0.1,per=opportunity,distractor_load=0.05,name=careful")
    assert agent.per_opportunity and agent.distractor_load == 0.05 and agent.name == "careful"
    (agent,) = parse_agents("flawed:skipped_lookup=0.1")
    assert not agent.per_opportunity


def test_flawed_with_rates_seed_and_name() -> None:
    (agent,) = parse_agents("flawed:premature_finish=0.5,repeated_call=0.2,seed=7,name=sloppy")
    assert isinstance(agent, FlawedAgent)
    assert agent.name == "sloppy" and agent.seed == 7
    assert agent.flaws["premature_finish"] == 0.5 and agent.flaws["repeated_call"] == 0.2
    assert agent.flaws["skipped_lookup"] == 0.0


def test_several_items_and_repeated_options() -> None:
    agents = parse_agents(["reference;flawed:skipped_lookup=1", "llm:openai/gpt-4o-mini,max_turns=5"])
    assert [type(a) for a in agents] == [ReferenceAgent, FlawedAgent, LLMAgent]
    assert agents[2].name == "llm:openai/gpt-4o-mini" and agents[2].max_turns == 5


def test_bare_llm_takes_the_model_option() -> None:
    (agent,) = parse_agents("llm", model="ollama/llama3:8b", api_base="http://127.0.0.1:1")
    assert agent.config.model == "ollama/llama3:8b" and agent.config.api_base == "http://127.0.0.1:1"


@pytest.mark.parametrize("spec, message", [
    ("wizard", "unknown agent spec"),
    ("flawed:telepathy=0.5", "unknown flaw mode"),
    ("flawed:premature_finish=lots", "not a number"),
    ("flawed:premature_finish=2", "rates must be in [0, 1]"),
    ("flawed:", "at least one MODE=RATE"),
    ("flawed:skipped_lookup=0.1,per=task", "per must be 'run' or 'opportunity'"),
    ("flawed:skipped_lookup=0.1,distractor_load=0.1", "needs per_opportunity"),
    ("scripted:weird", "unknown agent spec"),
    ("llm", "needs a model"),
    ("reference;reference", "listed twice"),
    ("", "no agents"),
])
def test_bad_specs_are_named(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_agents(spec)


def test_cli_help_names_every_flaw_mode() -> None:
    from clawloop_synth.agents import FLAW_MODES
    from clawloop_synth.cli.rollout import _AGENTS_HELP

    assert all(mode in _AGENTS_HELP for mode in FLAW_MODES)
