"""`arrow.array`: the array `pa.array` makes, built from buffers, without the pandas import."""

from __future__ import annotations

import random
import subprocess
import sys

import pyarrow as pa
import pytest

from clawloop_synth.arrow import array, to_numpy


def _values(kind: str, rng: random.Random, n: int) -> list:
    make = {"string": lambda: "".join(rng.choice("aé😀\n\"{}") for _ in range(rng.randint(0, 6))),
            "float64": lambda: rng.choice([rng.uniform(-1e9, 1e9), rng.randint(-5, 5), float("inf"), -0.0]),
            "int64": lambda: rng.choice([rng.randint(-2**63, 2**63 - 1), 0]),
            "bool": lambda: rng.random() < 0.5}[kind]
    return [None if rng.random() < 0.2 else make() for _ in range(n)]


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.float64(), pa.int64(), pa.bool_()], ids=str)
def test_the_same_array_as_pa_array(arrow_type: pa.DataType) -> None:
    rng = random.Random(str(arrow_type))
    for n in (0, 1, 7, 8, 9, 300):
        values = _values({"double": "float64"}.get(str(arrow_type), str(arrow_type)), rng, n)
        for given in (values, [v for v in values if v is not None]):
            built = array(given, arrow_type)
            assert built.type == arrow_type and built.equals(pa.array(given, type=arrow_type))
            assert built.to_pylist() == pa.array(given, type=arrow_type).to_pylist()
            built.validate(full=True)


def test_numpy_arrays_of_the_types_own_dtype() -> None:
    import numpy as np

    for data, arrow_type in ((np.arange(-3, 40, 7), pa.int64()), (np.linspace(-1, 1, 9), pa.float64()),
                             (np.arange(20)[::3], pa.int64())):
        assert array(data, arrow_type).equals(pa.array(data, type=arrow_type))
    assert array(np.arange(4, dtype=np.int32), pa.int64()).equals(pa.array([0, 1, 2, 3], type=pa.int64()))


def test_values_of_other_types_are_converted_or_refused_as_pa_array_does() -> None:
    assert array([True, 2.5], pa.float64()).to_pylist() == [1.0, 2.5]
    assert array([b"raw", "text"], pa.string()).to_pylist() == ["raw", "text"]
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        array(["1.5"], pa.float64())
    with pytest.raises((OverflowError, pa.ArrowInvalid)):
        array([2**64], pa.int64())
    assert array([[1], [2]], pa.list_(pa.int64())).to_pylist() == [[1], [2]]


def test_writing_records_does_not_import_pandas() -> None:
    script = ("import sys, tempfile; from pathlib import Path; from clawloop_synth.store import save_records, "
              "load_records; from clawloop_synth.types import FailureCluster as F; d = Path(tempfile.mkdtemp()); "
              "save_records(d / 'c', [F(id='a', label='l', size=1, codes=[], member_ids=[], exemplar_ids=[])], "
              "columns=lambda c: {'size': c.size, 'share': 0.5, 'big': False}); "
              "assert [c.id for c in load_records(d / 'c', F)] == ['a']; print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_to_numpy_reads_the_buffer_of_a_numeric_array() -> None:
    import numpy as np

    for values in (pa.array(np.arange(12, dtype=np.uint64)), pa.array([1.5, -2.0, 3.25]),
                   pa.array(np.arange(-5, 30, dtype=np.int64)).slice(4, 9), pa.array([1, None, 3])):
        got = to_numpy(values)
        assert got.dtype == values.to_numpy(zero_copy_only=False).dtype or values.null_count
        assert np.array_equal(got, values.to_numpy(zero_copy_only=False), equal_nan=True)
