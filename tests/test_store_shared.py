"""`store.load_shared`: a dataset parsed once per process, parsed again once it is written anew."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.store import load_records, load_shared, save_records
from clawloop_synth.types import FailureCluster


def _clusters(*ids: str) -> list[FailureCluster]:
    return [FailureCluster(id=i, label=f"label {i}", size=1, codes=["agent/action/missing_action"], member_ids=[],
                           exemplar_ids=[]) for i in ids]


def test_a_dataset_read_twice_gives_the_same_records_without_parsing_again(tmp_path: Path) -> None:
    save_records(tmp_path / "clusters", _clusters("c0", "c1"))
    first, second = load_shared(tmp_path / "clusters", FailureCluster), load_shared(tmp_path / "clusters",
                                                                                    FailureCluster)
    assert [c.id for c in first] == ["c0", "c1"]
    assert first[0] is second[0]  # shared objects: parsed once
    assert first is not second  # the lists are the caller's own
    first.pop()
    assert len(load_shared(tmp_path / "clusters", FailureCluster)) == 2


def test_a_dataset_written_again_is_parsed_again(tmp_path: Path) -> None:
    save_records(tmp_path / "clusters", _clusters("c0"))
    before = load_shared(tmp_path / "clusters", FailureCluster)
    save_records(tmp_path / "clusters", _clusters("c0", "c9"))
    after = load_shared(tmp_path / "clusters", FailureCluster)
    assert [c.id for c in after] == ["c0", "c9"] == [c.id for c in load_records(tmp_path / "clusters",
                                                                              FailureCluster)]
    assert after[0] is not before[0]
