"""The ``llm`` learner (in context, over HTTP) and the ``command`` learner (a user's trainer), offline.

Both are checked against the scripted OpenAI-compatible server; every byte they send or are handed is searched
for what no learner may see (target codes, cluster ids, provenance, evaluation references).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.learn import play, task_views, train_runner
from clawloop_synth.learn.command import CommandLearner
from clawloop_synth.learn.llm import LLMLearner
from clawloop_synth.learn.registry import LearnerOptions, close_learner, make_learner
from clawloop_synth.llm import LLMConfig
from tests.fake_openai import Behaviour, FakeOpenAI, calls, ok, say
from tests.learn.test_view_and_policy import _FORBIDDEN, _marked

TINY = Path(__file__).with_name("tiny_trainer.py")


def replaying_model(body: dict[str, Any]) -> Behaviour:
    """A scripted "model": a distill request gets a lesson; an agent turn replays the first demonstration in
    the system prompt, call by call, then says its answer (no demonstration: answers at once)."""
    if not body.get("tools"):
        return ok({"lessons": ["Look the record up before you change it.", "Report the id you acted on."]})
    messages = body["messages"]
    system = messages[0]["content"]
    steps, answer = [], "Done."
    if "Solved examples" in system:
        block = system.split("Solved examples of similar requests:", 1)[1].split("\nRequest: ")[1]
        for line in block.splitlines()[1:]:
            if line.startswith("- "):
                name, _, args = line[2:].partition(" ")
                steps.append((name, json.loads(args)))
            elif line.startswith("Answer: "):
                answer = line[len("Answer: "):]
                break
    done = sum(1 for m in messages if m["role"] == "tool")
    return calls(steps[done]) if done < len(steps) else say(answer)


def _sent(server: FakeOpenAI) -> str:
    return json.dumps(server.requests)


def test_llm_learner_distills_a_playbook_and_retrieves_demonstrations(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = replaying_model
    tasks = _marked(build_demo_tasks(10, seed=4))
    train, held = tasks[:6], tasks[6:]
    learner = LLMLearner(LLMConfig("openai/fake", api_base=fake_openai.base_url, max_retries=0), practice=6)
    before = [play(learner, t).reward for t in held]
    assert learner.playbook == [] and before == [0.0] * len(held)
    learner.train(task_views(train, "train"), train_runner(train))
    assert learner.playbook == ["Look the record up before you change it.", "Report the id you acted on."]
    assert learner.stats["distilled_from"] >= 1  # practice on the training tasks failed somewhere
    fake_openai.reset()
    rollouts = [play(learner, t) for t in held]
    assert all(r.reward is not None for r in rollouts)
    system = fake_openai.requests[0]["messages"][0]["content"]
    assert "Look the record up before you change it." in system and "Solved examples" in system
    assert fake_openai.requests[0]["tools"], "the tools' schemas go to the model"
    # a demonstration replayed on another task makes real calls in the simulator
    assert any(m.role == "tool" for r in rollouts for m in r.messages)
    text = _sent(fake_openai)
    for secret in _FORBIDDEN:
        assert secret not in text, secret
    for i in range(6, 10):  # held-out references never reach the model
        assert f"SECRET-REFERENCE-ANSWER-{i}" not in text


def test_llm_learner_needs_a_model() -> None:
    from clawloop_synth.errors import InputError

    with pytest.raises(InputError, match="needs a model"):
        make_learner("llm", 0)


def test_command_learner_runs_the_users_trainer_on_the_exported_dataset(tmp_path: Path) -> None:
    tasks = _marked(build_demo_tasks(8, seed=5))
    train, unseen = tasks[:5], tasks[5:]
    learner = make_learner(f"cmd:{sys.executable} {TINY} {{train_dir}} {{out_dir}}", 0,
                           options=LearnerOptions(workdir=tmp_path))
    assert isinstance(learner, CommandLearner)
    try:
        assert [play(learner, t).reward for t in train] == [0.0] * 5  # untrained: no endpoint answers
        learner.train(task_views(train, "train"), train_runner(train))
        # the trainer memorized the demonstrations: the training tasks (played as evaluation views, without their
        # reference) are solved through its endpoint; tasks it never saw are not
        solved = [play(learner, t).reward for t in train]
        assert solved == [1.0] * 5, solved
        assert [play(learner, t).reward for t in unseen] == [0.0] * 3
        # what the learner's agent sent the trainer's endpoint while playing: views only, no secret
        sent = (tmp_path / "seed0-round0" / "out" / "requests.jsonl").read_text()
        assert sent.count("\n") >= 8
        for secret in _FORBIDDEN:
            assert secret not in sent, secret
        for i in range(5, 8):
            assert f"SECRET-REFERENCE-ANSWER-{i}" not in sent
        exported = (tmp_path / "seed0-round0" / "train" / "tasks.jsonl").read_text()
        assert len(exported.splitlines()) == 5 and "SECRET-REFERENCE-ANSWER-0" in exported  # training data
        for secret in _FORBIDDEN:
            assert secret not in exported, secret
        # a second train call hands the trainer every task seen so far, and restarts it
        learner.train(task_views(unseen, "train"), train_runner(unseen))
        seen = json.loads((tmp_path / "seed0-round1" / "out" / "seen.json").read_text())
        assert len(seen) == 8
        assert [play(learner, t).reward for t in unseen] == [1.0] * 3
    finally:
        close_learner(learner)
    assert learner._proc is None


def test_command_learner_names_a_trainer_that_writes_no_endpoint(tmp_path: Path) -> None:
    from clawloop_synth.errors import InputError

    tasks = build_demo_tasks(2, seed=0)
    learner = CommandLearner(f"{sys.executable} -c pass {{train_dir}} {{out_dir}}", tmp_path)
    with pytest.raises(InputError, match="exited with 0 without writing"):
        learner.train(task_views(tasks, "train"))
    with pytest.raises(InputError, match="must name"):
        CommandLearner("python train.py", tmp_path)
