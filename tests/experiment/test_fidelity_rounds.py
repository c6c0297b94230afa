"""Degraded simulators (rebound handlers, result noise), their measured fidelity, the floor, the rounds' modes."""

from __future__ import annotations

import json

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.experiment.degrade import ResultNoise, fidelity, rebind
from clawloop_synth.experiment.fidelity import aggregate_fidelity
from clawloop_synth.experiment.rounds import aggregate_rounds
from clawloop_synth.learn import play
from clawloop_synth.sim.env import SimEnv


class _Replay:
    """A learner that replays the training reference it was given at construction (by view order)."""

    name = "replay"

    def __init__(self, task):  # type: ignore[no-untyped-def]
        self.task = task
        self.seen: list[str] = []

    def train(self, tasks, runner=None):  # type: ignore[no-untyped-def]
        ...

    def play(self, view, env):  # type: ignore[no-untyped-def]
        for call in self.task.reference.calls:
            content, _ = env.step(call.name, dict(call.arguments))
            self.seen.append(content)
        return env.finish(self.task.reference.answer)


def test_rebound_handlers_answer_instead_and_keep_the_schemas() -> None:
    task = build_demo_tasks(1, seed=0)[0]
    first = task.reference.calls[0].name
    (bound,) = rebind([task], {first: 'def invoke(state, **args):\n    return {"made": "up"}\n'})
    assert [t.parameters for t in bound.tools] == [t.parameters for t in task.tools]
    env = SimEnv(bound)
    env.reset()
    assert json.loads(env.step(task.reference.calls[0]).content) == {"made": "up"}
    other = next(c for c in task.reference.calls if c.name != first)
    env.reset()
    result = env.step(other)
    assert result.is_error and "not available" in result.content
    # measured: the rebound tool's calls now differ from the true ones, the true pack against itself is exact
    assert fidelity([task])["fidelity"] == 1.0
    assert fidelity([task], [bound])["fidelity"] < 1.0


def test_result_noise_alters_what_the_learner_reads_not_the_state() -> None:
    task = build_demo_tasks(1, seed=1)[0]
    clean = _Replay(task)
    assert play(clean, task).reward == 1.0
    noisy = _Replay(task)
    rollout = play(noisy, task, noise=ResultNoise(1.0, seed=0))
    assert rollout.reward == 1.0  # the state moved exactly as the reference's: only the results read were altered
    changed = [a != b for a, b in zip(clean.seen, noisy.seen, strict=True)]
    json_results = [not c.startswith("Error") and c[:1] in "[{" for c in clean.seen]
    assert changed == json_results and any(changed)
    again = _Replay(task)
    play(again, task, noise=ResultNoise(1.0, seed=0))
    assert again.seen == noisy.seen  # seeded per episode
    assert play(_Replay(task), task, noise=ResultNoise(0.0, seed=0)).reward == 1.0
    low, high = fidelity([task], noise=ResultNoise(0.0, 0)), fidelity([task], noise=ResultNoise(1.0, 0))
    assert low["fidelity"] == 1.0 and high["fidelity"] < 1.0


def _seed(seed: int, finals: dict[str, float], fids: dict[str, float], untrained: float) -> dict:
    return {"seed": seed, "arms": {a: [{"tasks": 0, "success": untrained}, {"tasks": 10, "success": y}]
                                   for a, y in finals.items()},
            "fidelity": {a: {"fidelity": f} for a, f in fids.items()}}


def test_the_floor_is_the_highest_fidelity_that_does_not_transfer() -> None:
    fids = {"true": 1.0, "true_aa": 1.0, "induced_100": 0.9, "induced_10": 0.4, "noise_0.60": 0.4}
    shifts = ((0.0, 0.02), (0.02, 0.0), (0.04, 0.01), (0.01, 0.04), (0.03, 0.03))
    per_seed = [_seed(s, {"true": 0.5 + d, "true_aa": 0.5 + e, "induced_100": 0.4 + d, "induced_10": d,
                          "noise_0.60": 0.02 - d}, fids, 0.0) for s, (d, e) in enumerate(shifts)]
    out = aggregate_fidelity(per_seed)
    assert out["floor"]["found"] and out["floor"]["fidelity"] == 0.4
    assert out["floor"]["next_transferring"][1] == "induced_100"
    assert not out["aa_final"]["excludes_zero"]
    everything = [_seed(s, {a: 0.3 + 0.01 * s for a in fids}, fids, 0.0) for s in range(5)]
    assert not aggregate_fidelity(everything)["floor"]["found"]


def test_rounds_count_modes_closed_and_opened_over_seeds() -> None:
    rows = [[{"round": 0, "success": 0.1, "trained": 5, "modes": {"a": 2, "b": 1}, "closed": [], "opened": ["a", "b"]},
             {"round": 1, "success": 0.3, "trained": 5, "modes": {"a": 1, "c": 1}, "closed": ["b"], "opened": ["c"]}]
            for _ in range(3)]
    out = aggregate_rounds([{"rounds": r, "untrained": 0.0} for r in rows])
    assert out["per_round"][1]["closed"] == {"b": 3} and out["per_round"][1]["opened"] == {"c": 3}
    assert out["per_round"][1]["vs_round0"]["mean"] == 0.2
