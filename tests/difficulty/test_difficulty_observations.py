from types import SimpleNamespace

import numpy as np
import pytest

from clawloop_synth.difficulty import SUCCESS_THRESHOLD, Observations
from clawloop_synth.errors import InputError


def test_records_in_every_shape_and_task_order() -> None:
    records = [
        ("a", "t2", 1.0),
        {"agent": "b", "task_id": "t1", "reward": 0.0},
        SimpleNamespace(agent="a", task_id="t3", reward=0.5),  # a Rollout has these attributes
    ]
    obs = Observations.from_records(records, tasks=["t9", "t1"])
    assert obs.agents == ("a", "b")
    assert obs.tasks == ("t9", "t1", "t2", "t3")  # given order first, then the rest sorted
    successes, trials = obs.task_counts()
    assert successes.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert trials.tolist() == [0.0, 1.0, 1.0, 1.0]


def test_success_threshold_is_half() -> None:
    assert SUCCESS_THRESHOLD == 0.5
    obs = Observations.from_arrays(["a"] * 3, ["t"] * 3, [0.49, 0.5, 0.9])
    assert obs.success().tolist() == [0.0, 1.0, 1.0]


def test_repeated_attempts_are_summed_per_cell() -> None:
    obs = Observations.from_arrays(["a", "a", "b", "a"], ["t", "t", "t", "u"], [1, 0, 1, 1])
    rows, cols, k, n = obs.cell_counts()
    cells = {(obs.agents[r], obs.tasks[c]): (s, m) for r, c, s, m in zip(rows, cols, k, n, strict=True)}
    assert cells == {("a", "t"): (1.0, 2.0), ("b", "t"): (1.0, 1.0), ("a", "u"): (1.0, 1.0)}


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), None, "x"])
def test_bad_reward_names_the_record(bad: object) -> None:
    with pytest.raises(InputError) as err:
        Observations.from_records([("a", "t", 1.0), ("a", "u", bad)])
    assert err.value.record == "observation 1" and err.value.field == "reward"


def test_bad_ids_and_lengths() -> None:
    with pytest.raises(InputError, match="non-empty string"):
        Observations.from_records([("", "t", 1.0)])
    with pytest.raises(InputError, match="differ in length"):
        Observations.from_arrays(["a"], ["t", "u"], np.array([1.0, 0.0]))
