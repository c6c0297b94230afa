"""One command shape for every stage: ``STAGE -w WORKDIR [-i INPUT ...] [options]``.

Every stage names its work directory with ``-w/--workdir`` and its trace inputs with ``-i/--input``
(repeated), as ``run`` does. The older forms (``STAGE WORKDIR``; ``ingest PATH... -o WORKDIR``;
``induce TRACES...``) still work for one release: a command declares them as ``old_workdir`` /
``old_inputs`` parameters (hidden from ``--help``), and :func:`normalize` folds them into
``workdir`` / ``inputs`` with one deprecation line on stderr before the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["Inputs", "OldInputs", "OldWorkdir", "OldWorkdirOut", "Workdir", "normalize"]

Workdir = Annotated[Path | None, typer.Option("--workdir", "-w", help="Work directory.", show_default=False)]
Inputs = Annotated[list[Path] | None, typer.Option("--input", "-i", help="Trace file or folder (repeat -i for "
                                                   "several; any format ingest reads).", show_default=False)]
# The deprecated spellings (hidden): a positional work directory, positional inputs, ingest's -o.
OldWorkdir = Annotated[Path | None, typer.Argument(hidden=True, show_default=False, metavar="(old form: DIR)")]
OldInputs = Annotated[list[Path] | None, typer.Argument(hidden=True, show_default=False,
                                                        metavar="(old form: PATH...)")]
OldWorkdirOut = Annotated[Path | None, typer.Option("--out", "-o", hidden=True, show_default=False)]

# The old and the new form of a command, for the deprecation line (default: ``STAGE DIR``).
_FORMS = {
    "ingest": ("ingest PATH... -o DIR", "ingest -w DIR -i PATH [-i PATH ...]"),
    "induce": ("induce TRACES... -o PACK", "induce -i TRACES [-i ...] -o PACK (or -w DIR for DIR/pack)"),
}
_PAIRS = (("workdir", "old_workdir"), ("inputs", "old_inputs"))


def normalize(command: str, kwargs: dict[str, Any]) -> None:
    """Fold the deprecated ``old_*`` arguments of ``command`` into the new ones, in place.

    Prints one deprecation line when an old form was used; a value given both ways (and different)
    or a missing work directory is a usage error (exit 2, like any missing option)."""
    used = False
    for new, old in _PAIRS:
        if old not in kwargs:
            continue
        legacy = kwargs.pop(old)
        if legacy in (None, []):
            continue
        used = True
        current = kwargs.get(new)
        if current not in (None, []) and current != legacy:
            flag = "-w/--workdir" if new == "workdir" else "-i/--input"
            raise typer.BadParameter(f"given twice, as {flag} and in the deprecated form; keep {flag}",
                                     param_hint=flag)
        kwargs[new] = legacy
    if used:
        old_form, new_form = _FORMS.get(command, (f"{command} DIR", f"{command} -w DIR"))
        typer.secho(f"note: `clawloop-synth {old_form}` is deprecated and goes in the next release; use "
                    f"`clawloop-synth {new_form}`", fg=typer.colors.YELLOW, err=True)
    if "workdir" in kwargs and kwargs["workdir"] is None and command not in _WORKDIR_OPTIONAL:
        raise typer.BadParameter("missing: give the work directory with -w DIR", param_hint="-w/--workdir")
    if "inputs" in kwargs and not kwargs["inputs"] and command in _INPUTS_REQUIRED:
        raise typer.BadParameter("missing: give the traces with -i FILE (repeat for several)",
                                 param_hint="-i/--input")


# induce writes to -o PACK or to WORKDIR/pack; run has a default work directory and the demo inputs.
_WORKDIR_OPTIONAL = frozenset({"induce", "run"})
_INPUTS_REQUIRED = frozenset({"ingest", "induce"})


def given(path: Path | None) -> Path:
    """The work directory :func:`normalize` made sure of (typed ``Path`` for the command body)."""
    if path is None:  # pragma: no cover - normalize raises first
        raise typer.BadParameter("missing: give the work directory with -w DIR", param_hint="-w/--workdir")
    return path
