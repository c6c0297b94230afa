"""`store.save_records` writes the dataset metadata itself: the same files `datasets` writes, read by it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from clawloop_synth.store import _write_metadata, save_records
from clawloop_synth.types import FailureCluster


def _datasets_own(tmp_path: Path, schema: pa.Schema) -> dict[str, dict]:
    from datasets import Dataset

    placeholder = {field.name: pa.array([None], type=field.type) for field in schema}
    Dataset(pa.table(placeholder, schema=schema)).save_to_disk(str(tmp_path / "own"))
    return {name: json.loads((tmp_path / "own" / name).read_text()) for name in ("state.json", "dataset_info.json")}


def test_metadata_of_plain_columns_is_what_datasets_writes(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("score", pa.float64()), ("n", pa.int64()), ("ok", pa.bool_()),
                        ("json", pa.string())])
    data = tmp_path / "data"
    data.mkdir()
    _write_metadata(data, schema, count=0)
    ours = {name: json.loads((data / name).read_text()) for name in ("state.json", "dataset_info.json")}
    theirs = _datasets_own(tmp_path, schema)
    assert len(ours["state.json"].pop("_fingerprint")) == len(theirs["state.json"].pop("_fingerprint")) == 16
    assert ours == theirs


def test_other_column_types_still_get_datasets_metadata(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("tags", pa.list_(pa.string()))])
    data = tmp_path / "data"
    data.mkdir()
    _write_metadata(data, schema, count=0)
    info = json.loads((data / "dataset_info.json").read_text())
    assert info["features"]["tags"]["_type"] == "List"


def test_saved_records_load_in_datasets_without_it_being_imported_to_write_them(tmp_path: Path) -> None:
    clusters = [FailureCluster(id=f"c{i}", label="l", size=i, codes=["agent/action/missing_action"],
                               member_ids=[], exemplar_ids=[]) for i in range(3)]
    script = ("import sys; from pathlib import Path; from clawloop_synth.store import save_records; "
              "from clawloop_synth.types import FailureCluster as F; "
              f"save_records(Path({str(tmp_path / 'child')!r}), [F(id='a', label='l', size=1, codes=[], "
              "member_ids=[], exemplar_ids=[])], columns=lambda c: {'size': c.size}); "
              "print('datasets' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    save_records(tmp_path / "clusters", clusters, columns=lambda c: {"size": c.size, "ratio": c.size / 2,
                                                                     "big": c.size > 1})
    from datasets import load_from_disk

    for folder in (tmp_path / "clusters", tmp_path / "child"):
        loaded = load_from_disk(str(folder / "data"))
        assert loaded.column_names == ["id", "size", *(["ratio", "big"] if folder.name == "clusters" else []), "json"]
    loaded = load_from_disk(str(tmp_path / "clusters" / "data"))
    assert loaded["id"] == ["c0", "c1", "c2"] and loaded["big"] == [False, False, True]
    assert loaded.features["ratio"].dtype == "float64"
    assert [FailureCluster.model_validate_json(row).id for row in loaded["json"]] == ["c0", "c1", "c2"]
