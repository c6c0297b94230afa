"""Shared fixtures. Tests are offline; real public data is read from ``../shared/datasets``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = (REPO / ".." / "shared" / "datasets").resolve()


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The read-only public datasets beside the checkout; tests that need them skip without them."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"public datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def airline_trajectories(shared_datasets: Path) -> Path:
    return shared_datasets / "tau-bench" / "gpt-4o-airline.json"


@pytest.fixture(scope="session")
def airline_db(shared_datasets: Path) -> Path:
    return shared_datasets / "tau-bench" / "airline-db"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (random port); see ``tests/fake_openai.py``."""
    with FakeOpenAI() as server:
        yield server
