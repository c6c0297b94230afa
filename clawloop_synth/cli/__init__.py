"""The ``clawloop-synth`` command: a thin typer app over the library.

Each stage registers its commands from its own module in this package. Those modules import only
typer at module level; the library (datasets, faiss, litellm, ...) is imported inside the command
bodies so that ``--help`` answers fast and stages that call no model never import litellm.
"""

from __future__ import annotations

import typer

from clawloop_synth.errors import InputError

__all__ = ["app", "main"]

app = typer.Typer(
    name="clawloop-synth",
    help="Turn agent traces into verifiable tool-use training tasks aimed at what the agent gets wrong.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def fail(message: str) -> None:
    """Print one red line on stderr and exit 1."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise SystemExit(1)


def main() -> None:
    """Console entry point: one red line and exit 1 for bad input, never a traceback."""
    try:
        app()
    except InputError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")


# Stage modules in the order of the data flow, which is the order `--help` lists their commands.
_STAGE_MODULES = ("ingest", "mine", "generate", "sim", "sim_replay", "demo", "coverage", "rollout", "export",
                  "evaluate", "report", "run", "pack", "schemas")


def _register_stages() -> None:
    # Imported here, not at the top, so each stage module can `from clawloop_synth.cli import app`.
    import importlib

    for name in _STAGE_MODULES:
        importlib.import_module(f"clawloop_synth.cli.{name}")


_register_stages()

if __name__ == "__main__":  # pragma: no cover
    main()
