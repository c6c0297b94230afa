"""The DSPy program: generation through the stage and ``optimize``, with dspy's DummyLM (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dspy
import pytest
from dspy.utils import DummyLM

from clawloop_synth.generate.dspy_gen import DSPyGenerator
from clawloop_synth.generate.dspy_opt import OptimizeConfig, run_optimize
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.llm import LLM, LLMConfig
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import good_drafts


@pytest.fixture(autouse=True)
def _reset_dspy() -> Iterator[None]:
    yield
    dspy.settings.configure(lm=None)


def _answers(n: int) -> list[dict[str, str]]:
    return [{"task": json.dumps(d)} for d in good_drafts(n=n)]


def test_dspy_program_generates_through_the_stage(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    llm = LLM(LLMConfig("openai/unused", cache_dir=tmp_path / "c"))
    generator = DSPyGenerator(llm, lm=DummyLM(_answers(3)), max_repairs=0)
    summary = run_generate(work, GenerateConfig(domain="demo", per_cluster=2, generator="dspy", clusters=["c00"],
                                                concurrency=1), generator=generator)
    assert summary["accepted"] == 2 and summary["generator"] == "dspy"


def test_optimize_compiles_and_saves_a_program_that_generate_loads(tmp_path: Path) -> None:
    work = make_workdir(tmp_path)
    out = tmp_path / "program.json"
    summary = run_optimize(work, OptimizeConfig(domain="demo", out=out, train=3, max_demos=1),
                           lm=DummyLM(_answers(8) * 4))
    assert out.is_file() and summary["train"] == 3 and 0.0 <= summary["score_after"] <= 1.0
    llm = LLM(LLMConfig("openai/unused"))
    loaded = DSPyGenerator(llm, program=out, lm=DummyLM(_answers(2)))
    assert loaded.program.predictors()
