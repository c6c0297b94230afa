"""The LLM generator's first prompt per slot: the full template, naming the slot and its entities."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.generate import llm_gen
from clawloop_synth.generate.stage import GenerateConfig, _load_inputs, build_requests
from tests.generate.helpers import make_workdir


def test_every_slot_prompt_names_its_variation_and_its_entities(tmp_path: Path) -> None:
    config = GenerateConfig(domain="demo", per_cluster=4, generator="llm")
    requests = build_requests(config, *_load_inputs(make_workdir(tmp_path), config))
    for request in requests:
        prompts = {}
        for slot in (0, 1, 7, 15):
            system, user = llm_gen.generation_messages(request, slot)
            assert system["content"] == llm_gen.SYSTEM
            assert f"variation {slot + 1} of {request.count}" in user["content"]
            assert llm_gen.focus_entities(request, slot) in user["content"]
            assert request.target_code in user["content"]
            prompts[slot] = user["content"]
        assert len(set(prompts.values())) == len(prompts)
