"""`evaluate`: shape figures, discrimination ratios, the JSON and the table, the command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.evaluate import evaluate_tasks, run_evaluate, table
from clawloop_synth.evaluate.discrimination import discrimination, smoothed_ratio
from clawloop_synth.evaluate.shape import kind_of, shape_metrics, skeleton, tool_sequence
from clawloop_synth.types import PlannedCall, PolicyRule, Solution
from clawloop_synth.workdir import write_json
from tests.export.tiny import make_task, make_workdir


def test_skeleton_replaces_entities_and_collapses_greetings() -> None:
    a = skeleton("Hi, I'm Mia Li and my user id is mia_li_3668. Please cancel reservation ABC123 on 2024-05-20.")
    b = skeleton("Hello! This is Omar Davis. Please cancel reservation ZZ9XY1 on 2024-06-02.")
    assert a.startswith("<greeting>") and "<id>" in a and "<date>" in a
    assert a.split(" ", 1)[1] == b.split(" ", 1)[1]  # same request once the greeting collapses
    assert skeleton("Add 3 bags for $150.") == "add <num> bags for <amount>."
    assert skeleton("Add 3 bags for $150.") != skeleton("Remove 3 bags for $150.")


def test_tool_sequences_writes_and_kinds() -> None:
    task = make_task(1)
    assert tool_sequence(task) == ("lookup", "restock")
    retried = task.model_copy(update={"reference": Solution(calls=[*task.reference.calls, task.reference.calls[-1]]),
                                      "kind": "restock"})
    assert tool_sequence(retried, writes_only=True) == ("restock",)  # a retried identical write is one
    assert kind_of(retried) == "restock"
    assert kind_of(task.model_copy(update={"provenance": task.provenance.model_copy(
        update={"prompt_version": "book: skipped lookup"})})) == "book"
    reads_only = task.model_copy(update={"reference": Solution(calls=[PlannedCall(name="lookup",
                                                                                  arguments={"sku": "I1"})])})
    shape = shape_metrics([task, reads_only])
    assert shape["write_shares"] == {"one write": 0.5, "no write": 0.5}
    assert shape["distinct_tool_sequences"] == 2 and shape["tools_never_exercised"] == []


def test_smoothed_ratio_and_discrimination_sides() -> None:
    assert smoothed_ratio(9, 10, 1, 10) == (10 / 12) / (2 / 12)
    tasks = [make_task(i) for i in range(6)]
    tasks += [make_task(i, cluster=None) for i in range(6, 9)]
    assert discrimination(tasks, min_side=20)["agent/action/wrong_argument"]["ratio"] is None
    row = discrimination(tasks, min_side=3)["agent/action/wrong_argument"]
    assert (row["targeted"], row["others"]) == (6, 3)
    # The code's own agent (a twin-confusing one): the tiny tasks have no twins, so it fails nowhere.
    assert row["agent"] == "twin_confusion" and row["fail_targeted"] == row["fail_others"] == 0.0
    assert row["ratio"] == round(smoothed_ratio(0, 12, 0, 6), 3)


def test_evaluate_writes_json_and_one_table_for_two_sets(tmp_path: Path) -> None:
    first = make_workdir(tmp_path / "a", [make_task(i) for i in range(1, 5)])  # tiny-000 is a shortcut task
    write_json(first / "coverage.json", {"precision": 0.5, "recall": 0.25, "density": 0.4, "coverage": 0.3,
                                         "novelty": {"mean": 0.2}})
    second = make_workdir(tmp_path / "b", [make_task(i) for i in range(4, 7)])
    result = run_evaluate(first, second)
    saved = json.loads((first / "evaluate.json").read_text())
    assert saved == result and [s["tasks"] for s in saved["sets"]] == [4, 3]
    one = saved["sets"][0]
    assert one["shortcut_solve_rate"] == 0.0 and one["information_need_share"] == 1.0
    assert one["policy_violations"] is None and one["ambiguous"] is None  # no rules, no constraints: NA
    assert one["coverage"]["precision"] == 0.5 and saved["sets"][1]["coverage"] is None
    text = table(result)
    assert text.splitlines()[0].split() == ["figure", "wd", "wd"]
    assert "shortcut-agent solve rate" in text and "NA" in text
    cli = CliRunner().invoke(app, ["evaluate", "-w", str(first)])
    assert cli.exit_code == 0 and "information-need share" in cli.output
    missing = CliRunner().invoke(app, ["evaluate", "-w", str(tmp_path / "nothing")])
    assert missing.exit_code != 0


def test_shortcut_solvable_tasks_show_in_the_figures() -> None:
    told = make_task(2).model_copy(update={"instruction": "Add 3 units to I2 with the note routine; "
                                                          "say it has 5."})
    figures = evaluate_tasks([told, make_task(3)], min_side=20)
    assert figures["shortcut_solve_rate"] == 0.5 and figures["information_need_share"] == 0.5


CAP = PolicyRule(name="cap", source='''
tools = ["restock"]


def check(state, call):
    if call["arguments"]["amount"] > 3:
        return "at most 3 at a time"
    return None
''')


def test_policy_violations_by_the_tasks_rules_or_by_rules_given(tmp_path: Path) -> None:
    tasks = [make_task(i) for i in range(1, 6)]  # restock by 2, 3, 4, 5, 6
    assert evaluate_tasks(tasks)["policy_violations"] is None  # no rules: NA
    ruled = [t.model_copy(update={"rules": [CAP]}) for t in tasks]
    assert evaluate_tasks(ruled)["policy_violations"] == 3
    assert evaluate_tasks(tasks, rules=[CAP])["policy_violations"] == 3  # judged by rules they do not carry
    first = make_workdir(tmp_path / "a", tasks)
    assert run_evaluate(first, rules=[CAP])["sets"][0]["policy_violations"] == 3


def test_tasks_of_two_requests_count_as_one_kind_family() -> None:
    tasks = [make_task(1).model_copy(update={"kind": k}) for k in ("cabin + bags", "bags + book", "refusal: cancel")]
    shape = shape_metrics(tasks)
    assert shape["kind_family_shares"] == {"two requests": 0.667, "refusal: cancel": 0.333}
    assert len(shape["kind_shares"]) == 3
