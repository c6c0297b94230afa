"""`clawloop-synth serve PACK`: a pack's tools as an MCP server backed by the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clawloop_synth.cli import app

__all__ = ["serve"]


@app.command(help="Serve PACK's tools as an MCP server (stdio, or streamable HTTP on 127.0.0.1) backed by the "
                  "sandboxed simulator: each MCP session gets its own episode, and its calls are written as traces "
                  "that `ingest` reads. Without --workdir the tools run over the pack's whole state; with it, each "
                  "session plays one of its tasks (--task picks one).")
def serve(
    pack: Annotated[str, typer.Argument(help="A pack folder, or a built-in pack name (demo, airline).")],
    tasks_dir: Annotated[Path | None, typer.Option(
        "--workdir", "-w", "--tasks", help="Serve the tasks of this work directory (or a tasks dataset, JSON or "
                                           "JSONL file of TaskSpecs) instead of the pack's own state.")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Serve only the task with this id.")] = None,
    db: Annotated[Path | None, typer.Option(help="The pack's database folder (state/ layout), when it has no "
                                            "state of its own or to use another.")] = None,
    transport: Annotated[str, typer.Option(help="stdio (the client starts this command) or http "
                                                "(streamable HTTP at http://127.0.0.1:PORT/mcp).")] = "stdio",
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP port (0: any free port; the URL is printed "
                                                             "on stderr).")] = 8765,
    traces: Annotated[Path, typer.Option(help="Folder for the sessions' traces (one JSONL file per "
                                              "session).")] = Path("mcp-traces"),
    episode_tools: Annotated[bool, typer.Option(
        "--episode-tools", help="Also offer clawloop_reset and clawloop_finish (the episode's reward and "
                                "checks) beside the pack's tools.")] = False,
    tool_result_format: Annotated[str, typer.Option(help="json (results as the simulator returns them) or "
                                                         "lines (JSON as key: value lines).")] = "json",
    max_tool_result_chars: Annotated[int, typer.Option(min=0, help="Cut each result to this many characters "
                                                                   "(0: never).")] = 0,
) -> None:
    from clawloop_synth.errors import InputError
    from clawloop_synth.export.bound import RESULT_FORMATS
    from clawloop_synth.interfaces.binding import load_tasks, pack_task
    from clawloop_synth.interfaces.mcp_server import SimMCP, serve_http, serve_stdio
    from clawloop_synth.sim.pack_folder import load_pack

    if transport not in ("stdio", "http"):
        raise InputError(f"unknown transport {transport!r}; choose stdio or http", field="transport")
    if tool_result_format not in RESULT_FORMATS:
        raise InputError(f"unknown tool result format {tool_result_format!r}; choose one of "
                         f"{', '.join(RESULT_FORMATS)}", field="tool_result_format")
    if task is not None and tasks_dir is None:
        raise InputError("--task needs --workdir (the tasks to pick it from)", field="task")
    if tasks_dir is None:
        tasks = [pack_task(pack, db)]
    else:
        tasks = load_tasks(tasks_dir)
        names = {spec.name for spec in load_pack(pack, db).tools}
        foreign = sorted({spec.name for t in tasks for spec in t.tools} - names)
        if foreign:
            raise InputError(f"the tasks use tools the pack does not have: {', '.join(foreign[:5])}",
                             file=str(tasks_dir), field="tools")
    sim = SimMCP(tasks, task_id=task, traces=traces, episode_tools=episode_tools,
                 result_format=tool_result_format, max_tool_result_chars=max_tool_result_chars or None,
                 label=f"{pack}" + (f" {tasks_dir}" if tasks_dir else ""))
    if transport == "stdio":
        serve_stdio(sim)  # stdout is the protocol: nothing else may be printed there
        return

    def ready(url: str) -> None:
        typer.echo(f"serving {pack} over MCP (streamable HTTP) at {url}; traces in {traces}", err=True)

    serve_http(sim, port, ready)
