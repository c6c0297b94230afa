"""The LLM generator's prompt shortcut (a skeleton rendered once per cluster) equals a full render."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.generate import llm_gen
from clawloop_synth.generate.stage import GenerateConfig, _load_inputs, build_requests
from tests.generate.helpers import make_workdir


def test_every_slot_prompt_equals_the_full_template_render(tmp_path: Path) -> None:
    config = GenerateConfig(domain="demo", per_cluster=4, generator="llm")
    requests = build_requests(config, *_load_inputs(make_workdir(tmp_path), config))
    for request in requests:
        assert llm_gen._skeleton(request) is not None  # the shortcut is taken
        for slot in (0, 1, 7, 15):
            user = llm_gen.generation_messages(request, slot)[1]["content"]
            assert user == llm_gen._render(request, slot, llm_gen.focus_entities(request, slot))
            assert f"variation {slot + 1} of {request.count}" in user
