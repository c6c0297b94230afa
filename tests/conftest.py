"""Shared fixtures. Tests are offline; real public data is read from ``../shared/datasets``."""

from __future__ import annotations

from pathlib import Path

import pytest

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
