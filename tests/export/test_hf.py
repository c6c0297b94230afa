"""The hf export: round trip of the airline tasks, the card, storage of JSON values, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from clawloop_synth.export import export_tasks, tasks_from_dataset
from clawloop_synth.export.card import check_card
from clawloop_synth.sim import verify
from clawloop_synth.types import TaskSpec
from tests.export.tiny import cluster, make_task, make_workdir


def _front(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture(scope="module")
def airline_hf(airline_workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("hf") / "out"
    return out, export_tasks(airline_workdir, "hf", out, seed=7)


def test_round_trip_gives_equal_tasks_that_verify_again(airline_hf: tuple[Path, dict],
                                                        airline_accepted: list[TaskSpec]) -> None:
    from datasets import load_from_disk

    out, summary = airline_hf
    assert summary["exported"] == len(airline_accepted) >= 30 and not summary["skipped"]
    dataset = load_from_disk(str(out / "dataset"))
    back = [task for split in dataset.values() for task in tasks_from_dataset(split)]
    by_id = {t.id: t for t in airline_accepted}
    assert sorted(t.id for t in back) == sorted(by_id)
    for task in back:
        assert task == by_id[task.id]
        assert verify(task).ok


def test_parquet_files_load_with_the_same_tasks(airline_hf: tuple[Path, dict],
                                                airline_accepted: list[TaskSpec]) -> None:
    from datasets import load_dataset

    out, summary = airline_hf
    files = {split: str(out / "data" / f"{split}-00000-of-00001.parquet") for split in summary["splits"]}
    dataset = load_dataset("parquet", data_files=files)
    by_id = {t.id: t for t in airline_accepted}
    for split in dataset.values():
        for task in tasks_from_dataset(split):
            assert task == by_id[task.id]


def test_card_header_and_body_match_the_data(airline_hf: tuple[Path, dict], airline_trajectories: Path) -> None:
    from datasets import load_from_disk

    out, summary = airline_hf
    card = (out / "README.md").read_text()
    meta = _front(card)
    assert meta["license"] and "synthetic" in meta["tags"] and "agents" in meta["tags"]
    assert meta["size_categories"] == ["n<1K"] and "text-generation" in meta["task_categories"]
    assert [f["split"] for f in meta["configs"][0]["data_files"]] == list(summary["splits"])
    dataset = load_from_disk(str(out / "dataset"))
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == \
        {name: len(part) for name, part in dataset.items()}
    assert meta["dataset_info"]["features"] == dataset["train"].features._to_yaml_list()
    assert check_card(card, summary["splits"], dataset["train"].features._to_yaml_list()) == []
    # Body: clusters, storage, provenance with the input file's hash, the reproducing commands.
    import hashlib

    assert "cluster-0" in card and "Json()" in card and "`initial_state`" in card
    assert hashlib.sha256(airline_trajectories.read_bytes()).hexdigest() in card
    assert "clawloop-synth export" in card and "--seed 7" in card and "reference_passes" in card


def test_stale_card_is_detected(airline_hf: tuple[Path, dict]) -> None:
    out, summary = airline_hf
    card = (out / "README.md").read_text()
    other = [{"name": "id", "dtype": "string"}, {"name": "new_column", "dtype": "string"}]
    assert any("columns" in p for p in check_card(card, summary["splits"], other))
    assert any("splits" in p for p in check_card(card, {"train": 1}, None))
    assert check_card("no header", {}, None) == ["the card has no YAML header"]


def test_json_values_keep_their_types(tmp_path: Path) -> None:
    """A string that looks like a number, nulls and mixed types survive (Json() would coerce "12")."""
    from datasets import load_from_disk

    task = make_task(1)
    task.initial_state["items"]["I1"]["tags"] = ["12", 12, None, {"x": [1.5, "true"]}]
    task.checks.assertions[0].expected = "12"
    task.checks.assertions[0].expression = "items.I1.tags[0]"
    workdir = make_workdir(tmp_path, [task, make_task(2, cluster=None)], clusters=[cluster("c0", 1)])
    summary = export_tasks(workdir, "hf", tmp_path / "out")
    assert summary["exported"] == 2
    back = {t.id: t for split in load_from_disk(str(tmp_path / "out" / "dataset")).values()
            for t in tasks_from_dataset(split)}
    assert back[task.id] == task
    assert back[task.id].checks.assertions[0].expected == "12"
    assert "initial_state" in summary["json_columns"] and "tools[].parameters" in summary["json_columns"]
    assert "label of c0" in (tmp_path / "out" / "README.md").read_text()
    assert json.loads((workdir / "export.json").read_text())["exported"] == 2


def test_failing_tasks_are_left_out_with_their_reason(tmp_path: Path) -> None:
    bad = make_task(3)
    bad.failure_exemplar = bad.reference  # the exemplar now passes: verification fails
    workdir = make_workdir(tmp_path, [make_task(1), bad])
    summary = export_tasks(workdir, "hf", tmp_path / "out")
    assert summary["exported"] == 1
    assert summary["skipped"][0]["id"] == bad.id and "exemplar_fails" in summary["skipped"][0]["reason"]
    assert bad.id in (tmp_path / "out" / "README.md").read_text()
