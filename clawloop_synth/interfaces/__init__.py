"""The project's tasks and packs behind standard agent-environment interfaces.

- ``binding``: one agent's episode on a task's tools in ``SimEnv``, recorded as a trace ``ingest`` reads;
- ``verifiers_env``: ``export -f verifiers`` (an installable environment module for the ``verifiers`` package);
- ``openenv_env``: the tasks behind OpenEnv's reset/step/state, served by its HTTP server;
- ``mcp_server``: ``clawloop-synth serve PACK``, a pack's tools as an MCP server (stdio or streamable HTTP).

Each interface imports its library lazily (the ``verifiers``, ``openenv`` and ``mcp`` extras), so importing
this package or the CLI stays cheap.
"""
