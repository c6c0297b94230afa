"""The ``clawloop-synth`` command: a thin typer app over the library.

Each stage registers its commands from its own module in this package. Those modules import only
typer at module level; the library (datasets, faiss, litellm, ...) is imported inside the command
bodies so that ``--help`` answers fast and stages that call no model never import litellm.
"""

from __future__ import annotations

import errno
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from clawloop_synth.errors import InputError

__all__ = ["app", "main"]

app = typer.Typer(
    name="clawloop-synth",
    help="Turn agent traces into verifiable tool-use training tasks aimed at what the agent gets wrong.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help texts name TOML tables ([generate]) and defaults ([default: ...]); rich markup would eat them.
    rich_markup_mode=None,
)


def fail(message: str) -> None:
    """Print one red line on stderr and exit 1."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise SystemExit(1)


# Errors of the disk, not of the program: one line (the work directory stays resumable, since
# every stage writes into a staging folder or a temp file and renames it into place when done).
_DISK_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
                errno.EPERM: "permission denied"}


def main() -> None:
    """Console entry point: one red line and exit 1 for bad input, never a traceback."""
    try:
        app()
    except InputError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")
    except OSError as exc:
        if exc.errno not in _DISK_ERRORS:
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        fail(f"{_DISK_ERRORS[exc.errno]}{where}; free space or fix the permissions, then re-run to resume")


# Stage modules in the order of the data flow, which is the order `--help` lists their commands.
_STAGE_MODULES = ("ingest", "induce", "mine", "generate", "sim", "sim_replay", "demo", "coverage", "rollout",
                  "export", "evaluate", "experiment", "report", "run", "pack", "serve", "schemas")


# Commands that start a work directory (the others read one and say so when it is missing).
_CREATES_WORKDIR = frozenset({"ingest", "induce", "run"})
# run takes its work directory from --config too, and --print-config must not create it: it locks itself.
_LOCKS_ITSELF = frozenset({"run"})


def _shaped(command: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` with the deprecated argument forms folded in (``shape.normalize``), run under the
    work directory's run lock (one run per work directory)."""

    @functools.wraps(callback)
    def run_shaped(*args: Any, **kwargs: Any) -> Any:
        from clawloop_synth.cli.shape import normalize
        from clawloop_synth.workdir import workdir_lock

        normalize(command, kwargs)
        workdir = kwargs.get("workdir")
        if workdir is None or command in _LOCKS_ITSELF:
            return callback(*args, **kwargs)
        with workdir_lock(Path(workdir), f"clawloop-synth {command}", create=command in _CREATES_WORKDIR):
            return callback(*args, **kwargs)

    return run_shaped


def _register_stages() -> None:
    # Imported here, not at the top, so each stage module can `from clawloop_synth.cli import app`.
    import importlib

    for name in _STAGE_MODULES:
        importlib.import_module(f"clawloop_synth.cli.{name}")
    for command in app.registered_commands:
        callback = command.callback
        if callback is None:
            continue
        name = command.name or callback.__name__
        params = inspect.signature(callback).parameters
        if "workdir" in params or "old_inputs" in params:
            command.callback = _shaped(name, callback)


_register_stages()

if __name__ == "__main__":  # pragma: no cover
    main()
