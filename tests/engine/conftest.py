"""One local Ray cluster (127.0.0.1, 2 CPUs) for every Ray test of the session: started on first use (Ray
takes seconds to start, more on a loaded machine), stopped at the end. CI sets ``CLAWLOOP_REQUIRE_RAY=1``: a
missing ``ray`` extra then fails these tests instead of skipping them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="session")
def cluster() -> Iterator[None]:
    if os.environ.get("CLAWLOOP_REQUIRE_RAY") == "1":
        import ray
    else:
        ray = pytest.importorskip("ray")
    # Workers are started by the cluster and inherit its environment: they import this checkout.
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "OPENAI_API_KEY", "RAY_AUTH_MODE")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), saved["PYTHONPATH"]) if p)
    os.environ["OPENAI_API_KEY"] = "test"
    os.environ["RAY_AUTH_MODE"] = "disabled"
    for attempt in range(3):
        try:
            ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
                     configure_logging=False, log_to_driver=False)
            break
        except Exception:
            # Ray waits 30 s (a constant) for its raylet; a loaded machine can take longer: try again.
            ray.shutdown()
            if attempt == 2:
                raise
    try:
        yield
    finally:
        ray.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
