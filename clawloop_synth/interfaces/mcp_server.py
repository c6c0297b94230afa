"""A pack's tools as an MCP server (the ``mcp`` SDK's low-level ``Server``), backed by ``SimEnv``.

``tools/list`` answers the pack's (or the task's) tool schemas exactly as ``tools.json`` has them, and
``tools/call`` runs the call in the session's own :class:`~clawloop_synth.interfaces.binding.Episode`:
the simulator's sandbox, validation and error results, its text as the result (``isError`` when the
call failed). Each MCP session gets a fresh episode (stdio: the process is the session; streamable
HTTP: the ``mcp-session-id``); with several tasks, sessions take them in turn. ``episode_tools``
adds ``clawloop_reset`` (start over, optionally on another task) and ``clawloop_finish`` (end with
the final answer and get the reward and per-check results). Every session's calls are written, after
each call, to ``TRACES/<session>.jsonl`` as OpenAI chat records that ``clawloop-synth ingest`` reads.

Over stdio the process is the session, in either protocol era. Streamable HTTP in the 2026-07-28 era
has no sessions, and the simulator keeps state per session, so the HTTP server's ``server/discover``
names only handshake-era versions: ``mode="auto"`` clients then open a handshake-era session.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.interfaces.binding import Episode, TraceLog, pick_task
from clawloop_synth.types import TaskSpec

__all__ = ["RESET_TOOL", "FINISH_TOOL", "SimMCP", "build_server", "serve_http", "serve_stdio"]

RESET_TOOL = "clawloop_reset"
FINISH_TOOL = "clawloop_finish"
SESSION_HEADER = "mcp-session-id"

_EPISODE_TOOLS = [
    {"name": RESET_TOOL, "description": "Start the episode over on a fresh copy of the initial state (optionally "
                                        "on another task of this server). Returns the task id and request.",
     "parameters": {"type": "object", "properties": {"task_id": {"type": "string"}}, "additionalProperties": False}},
    {"name": FINISH_TOOL, "description": "End the episode with the final reply to the user. Returns the reward and "
                                         "the result of each of the task's checks.",
     "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
                    "additionalProperties": False}},
]


@dataclass
class _Session:
    episode: Episode
    log: TraceLog
    lock: threading.Lock = field(default_factory=threading.Lock)


class SimMCP:
    """The state behind the server: the tasks, one episode per session, the trace folder."""

    def __init__(self, tasks: list[TaskSpec], *, task_id: str | None = None, traces: Path | None = None,
                 episode_tools: bool = False, result_format: str = "json",
                 max_tool_result_chars: int | None = None, label: str = "") -> None:
        self.tasks = [pick_task(tasks, task_id)] if task_id is not None else list(tasks)
        self.traces = Path(traces) if traces is not None else None
        self.episode_tools = episode_tools
        self.result_format = result_format
        self.max_tool_result_chars = max_tool_result_chars
        self.label = label
        self._sessions: dict[str, _Session] = {}
        self._turn = itertools.count()
        self._lock = threading.Lock()
        first = self.tasks[0]
        for task in self.tasks[1:]:
            if [t.openai_schema() for t in task.tools] != [t.openai_schema() for t in first.tools]:
                from clawloop_synth.errors import InputError

                raise InputError(f"task {task.id} has other tools than task {first.id}; serve one task set "
                                 "per pack", field="tasks")

    def tool_schemas(self) -> list[dict[str, Any]]:
        """The served tools as (name, description, parameters) dicts: the task's, then the episode tools."""
        tools = [{"name": s.name, "description": s.description, "parameters": s.parameters}
                 for s in self.tasks[0].tools]
        return tools + (_EPISODE_TOOLS if self.episode_tools else [])

    def _episode(self, task: TaskSpec, session_id: str) -> Episode:
        return Episode(task, result_format=self.result_format, max_tool_result_chars=self.max_tool_result_chars,
                       trace_id=f"mcp:{session_id}:{task.id}",
                       metadata={"recorded_by": "clawloop-synth serve (mcp)", "session": session_id,
                                 "served": self.label})

    def session(self, session_id: str) -> _Session:
        """The session's state, made on its first call with the next task in turn."""
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                task = self.tasks[next(self._turn) % len(self.tasks)]
                name = "".join(c if c.isalnum() or c in "-_" else "_" for c in session_id)[:80]
                log = TraceLog((self.traces or Path(".")) / f"{name}.jsonl")
                found = _Session(self._episode(task, session_id), log)
                self._sessions[session_id] = found
                if self.traces is not None:
                    log.add(found.episode)
            return found

    def call(self, session_id: str, name: str, arguments: dict[str, Any]) -> tuple[str, bool, Any]:
        """Run one call in the session; returns (text, is_error, structured content or None). Blocking."""
        import json

        state = self.session(session_id)
        with state.lock:
            if self.episode_tools and name == RESET_TOOL:
                task_id = arguments.get("task_id")
                task = pick_task(self.tasks, task_id) if task_id else state.episode.task
                state.episode = self._episode(task, session_id)
                if self.traces is not None:
                    state.log.add(state.episode)
                observation = {"task_id": task.id, "instruction": task.instruction,
                               "user_persona": task.user_persona}
                return json.dumps(observation, ensure_ascii=False), False, observation
            if self.episode_tools and name == FINISH_TOOL:
                reward, checks = state.episode.finish(str(arguments.get("answer", "")))
                outcome = {"reward": reward, "checks": [c.model_dump() for c in checks]}
                self._flush(state)
                return json.dumps(outcome, ensure_ascii=False), False, outcome
            turn = state.episode.call(name, arguments)
            self._flush(state)
            return turn.shown, turn.result.is_error, None

    def _flush(self, state: _Session) -> None:
        if self.traces is not None:
            state.log.flush()


def _session_id(ctx: Any) -> str:
    """The streamable-HTTP session id; stdio has one session per process."""
    request = getattr(ctx, "request", None)
    headers = getattr(request, "headers", None)
    value = headers.get(SESSION_HEADER) if headers is not None else None
    return str(value) if value else "stdio"


def build_server(sim: SimMCP, name: str = "clawloop-synth", *, sessions_only: bool = False) -> Any:
    """The ``mcp`` low-level ``Server`` over ``sim``; ``sessions_only``: advertise handshake-era versions only."""
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    tools = [types.Tool(name=t["name"], description=t["description"] or None, input_schema=t["parameters"])
             for t in sim.tool_schemas()]
    stdio_session = f"stdio-{uuid.uuid4().hex[:12]}"

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> Any:
        session = _session_id(ctx)
        session = stdio_session if session == "stdio" else session
        arguments = dict(params.arguments or {})
        text, is_error, structured = await anyio.to_thread.run_sync(sim.call, session, params.name, arguments)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=is_error,
                                    structured_content=structured)

    server = Server(name, instructions=sim.tasks[0].policy or None, on_list_tools=list_tools,
                    on_call_tool=call_tool)
    if sessions_only:
        from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

        async def discover(ctx: Any, params: Any) -> Any:
            return types.DiscoverResult(supported_versions=list(HANDSHAKE_PROTOCOL_VERSIONS),
                                        capabilities=server.get_capabilities(protocol_version=ctx.protocol_version),
                                        instructions=server.instructions)

        server.add_request_handler("server/discover", types.RequestParams, discover)
    return server


def serve_stdio(sim: SimMCP) -> None:
    """Serve over stdin/stdout until the client closes the pipe."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server(sim)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def serve_http(sim: SimMCP, port: int = 8765, ready: Any = None) -> None:
    """Serve streamable HTTP on 127.0.0.1:``port`` (0: any free port) at ``/mcp``; ``ready(url)`` once bound."""
    import socket

    import uvicorn

    server = build_server(sim, sessions_only=True)
    app = server.streamable_http_app(host="127.0.0.1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)  # connections made as soon as ``ready`` says so wait in the backlog, not refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    if ready is not None:
        ready(url)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
