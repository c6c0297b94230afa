"""The engine seam without Ray: the local engine is a lazy, ordered map; Ray is never imported for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clawloop_synth.engine import local_engine, make_engine
from clawloop_synth.errors import InputError
from tests.conftest import REPO


def _twice(x: int) -> int:
    return 2 * x


def _plus(offset: int, x: int) -> int:
    return offset + x


def test_the_local_engine_maps_lazily_in_input_order() -> None:
    engine = local_engine()
    seen: list[int] = []

    def source() -> object:
        for i in range(5):
            seen.append(i)
            yield i

    results = engine.map_ordered(_twice, source(), batch=3)
    assert seen == []  # nothing runs before a result is asked for: a streaming stage keeps streaming
    assert next(iter(results)) == 0 and seen == [0]
    assert list(engine.map_ordered(_plus, [3, 1, 2], context=10)) == [13, 11, 12]
    assert engine.shared_budget(1.0, 10, 4) is None


def test_engine_options_are_checked() -> None:
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        make_engine("spark")
    with pytest.raises(InputError, match="need --engine ray"):
        make_engine("local", "auto")


def test_help_and_the_local_engine_never_import_ray() -> None:
    code = ("import sys\n"
            "from typer.testing import CliRunner\n"
            "from clawloop_synth.cli import app\n"
            "assert CliRunner().invoke(app, ['run', '--help']).exit_code == 0\n"
            "from clawloop_synth.engine import make_engine\n"
            "assert list(make_engine('local').map_ordered(str, [1])) == ['1']\n"
            "print('ray' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"
