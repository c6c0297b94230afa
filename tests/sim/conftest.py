"""Fixtures for the simulator tests."""

from __future__ import annotations

import pytest
from sim_bank import make_task

from clawloop_synth.types import TaskSpec


@pytest.fixture
def task() -> TaskSpec:
    return make_task()
