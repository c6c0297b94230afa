"""What a handler's failure says: its exception's message from clipped arguments, and where it was raised.

Built under the sandbox's limits, so nothing here may format a hostile object whole.
"""

from __future__ import annotations

import reprlib
from types import TracebackType
from typing import Any

from clawloop_synth.sim.errors import HandlerError

__all__ = ["clipped", "handler_error", "located"]


def located(name: str, filename: str, tb: TracebackType | None) -> str:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"handler {name}, line {line}" if line else f"handler {name}"


def clipped(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


_ARG_REPR = reprlib.Repr()
_ARG_REPR.maxlevel, _ARG_REPR.maxstring, _ARG_REPR.maxother = 3, 200, 200


def _message(exc: BaseException) -> str:
    """The exception's message, built from clipped arguments: ``str(exc)`` of a DAG argument is
    exponential and of a 10**9-character one is huge, so neither is ever formatted whole."""
    args = getattr(exc, "args", ())
    if not isinstance(args, tuple):
        return "<unprintable>"
    safe: list[Any] = []
    for arg in args[:5]:
        if isinstance(arg, str):
            safe.append(clipped(arg))
        elif arg is None or isinstance(arg, bool | float) or isinstance(arg, int) and arg.bit_length() < 1000:
            safe.append(arg)
        else:
            safe.append(_ARG_REPR.repr(arg))
    try:
        return clipped(str(type(exc)(*safe)))
    except Exception:  # a type whose constructor wants other arguments (e.g. UnicodeDecodeError)
        try:
            return clipped(str(exc))
        except Exception:
            return "<unprintable>"


def handler_error(exc: BaseException, name: str, filename: str) -> HandlerError:
    return HandlerError(type(exc).__name__, _message(exc), located(name, filename, exc.__traceback__))
