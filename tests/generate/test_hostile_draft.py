"""A hostile LLM draft (issue 14): its handler is stopped by the sandbox within its limits, the draft
is rejected with the reason, and the run goes on to accept the repaired draft."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.generate.journal import Reject
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.sim.pack_folder import load_pack
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec, ToolSpec
from tests.fake_openai import Behaviour, FakeOpenAI, ok
from tests.generate.helpers import make_workdir
from tests.generate.llm_script import good_drafts, slot_of

# One case: the sandbox's own tests cover the others (C-call chains, exception messages...); this
# one checks that generate survives a hostile draft end to end. Either limit may fire first on a
# loaded machine (the state walk's value bound or the CPU clock).
HOSTILE = {
    "dag-in-state": ("def invoke(state, **args):\n    x = []\n    for i in range(26):\n        x = [x, x]\n"
                     "    state['d'] = x\n    return 'ok'\n",
                     "the state has more than|CPU time limit|wall-clock limit|memory"),
}


def hostile(draft: dict[str, Any], source: str) -> dict[str, Any]:
    name = draft["reference"]["calls"][0]["name"]
    spec = next(t for t in load_pack("demo").tools if t.name == name)
    bad = ToolSpec(name=spec.name, description=spec.description, parameters=spec.parameters, handler=source,
                   writes=spec.writes)
    return {**draft, "new_tools": [bad.model_dump(mode="json")]}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_draft_is_rejected_within_the_bound_and_the_run_goes_on(
        tmp_path: Path, fake_openai: FakeOpenAI, case: str) -> None:
    source, expected = HOSTILE[case]
    drafts = good_drafts()

    def respond(body: dict[str, Any]) -> Behaviour:
        draft = drafts[slot_of(body)]
        return ok(draft if len(body["messages"]) > 2 else hostile(draft, source))

    fake_openai.default = respond
    work = make_workdir(tmp_path)
    config = GenerateConfig(domain="demo", per_cluster=1, generator="llm", clusters=["c00"],
                            model="openai/fake-model", api_base=fake_openai.base_url, api_key="sk-test",
                            retry_wait=0.01, timeout=5.0, concurrency=1)
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(run_generate(work, config)), daemon=True)
    thread.start()
    thread.join(timeout=300)  # a generous hang guard, not a timing
    assert not thread.is_alive(), "generate hung on a hostile draft"
    [summary] = outcome
    assert summary["accepted"] == 1
    [task] = load_records(work / "tasks", TaskSpec)
    assert task.id.endswith("-r1")
    [reject] = load_records(work / "rejects", Reject)
    assert any(part in reject.detail for part in expected.split("|")), reject.detail
