"""The per-rollout tool server that ``verifiers`` launches for a task (``python -m`` this module).

``verifiers`` starts a task's tool server as ``python -m <module of its Toolset class>`` with the
launch contract of ``verifiers.v1.mcp.server.ServerBase`` in the environment: ``MCP_HOST`` /
``MCP_PORT`` (or ``MCP_PORT_FILE``, where the bound port is written), and ``VF_STATE_URL`` /
``VF_STATE_SECRET``, the rollout's channel, whose ``/task`` endpoint hands over the task's data.
The :class:`~clawloop_synth.interfaces.verifiers_env.SimToolset` class names this module, so the
launched process serves the task's tools with the project's own MCP server
(:mod:`~clawloop_synth.interfaces.mcp_server`) over a fresh ``SimEnv``, one per rollout, and need
not import ``verifiers`` itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

__all__ = ["fetch_task", "main"]


def _die_with_parent() -> None:
    """On Linux, end with the launcher (as verifiers' own servers do)."""
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def fetch_task(state_url: str, secret: str) -> str:
    """The TaskSpec JSON of the rollout's task, from the channel's ``/task`` endpoint."""
    import httpx

    task_url = state_url[: -len("/state")] + "/task" if state_url.endswith("/state") else state_url
    response = httpx.get(task_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30.0)
    response.raise_for_status()
    data = json.loads(response.json()["task"])
    return str(data["task"])


def main() -> None:
    """Serve the rollout's task over streamable HTTP at ``/mcp`` until the launcher ends this process."""
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    from clawloop_synth.interfaces.mcp_server import SimMCP, build_server
    from clawloop_synth.types import TaskSpec

    _die_with_parent()
    config = json.loads(os.environ.get("VF_CONFIG") or "{}")
    state_url = os.environ.get("VF_STATE_URL") or ""
    if not state_url:
        raise SystemExit("no VF_STATE_URL: this server is launched by verifiers for one rollout")
    task = TaskSpec.model_validate_json(fetch_task(state_url, os.environ.get("VF_STATE_SECRET", "")))
    sim = SimMCP([task], result_format=config.get("result_format", "json"),
                 max_tool_result_chars=config.get("max_tool_result_chars") or None, label="verifiers rollout")
    host = os.environ.get("MCP_HOST", "127.0.0.1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(os.environ.get("MCP_PORT", "0"))))
    sock.listen(128)
    port_file = os.environ.get("MCP_PORT_FILE")
    if port_file:
        Path(port_file).write_text(str(sock.getsockname()[1]))
    # One rollout per process: the episode is the process's, so the HTTP leg needs no sessions.
    app = build_server(sim).streamable_http_app(
        json_response=True, stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    uvicorn.Server(uvicorn.Config(app, log_level="critical")).run(sockets=[sock])


if __name__ == "__main__":
    main()
