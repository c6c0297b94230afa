"""The wire protocol between the sandbox's host (``isolation``) and its worker process (``_worker``).

Its own module because both sides need it and neither may import the other: the worker imports the
sandbox, which imports the host.
"""

from __future__ import annotations

__all__ = ["COMPILED", "HANDLER_ERROR", "OK_JSON", "OK_STR", "RECYCLE", "SANDBOX_ERROR", "UNKNOWN"]

# A reply's status byte.
OK_JSON, OK_STR, HANDLER_ERROR, SANDBOX_ERROR, COMPILED, UNKNOWN = range(6)
RECYCLE = 1  # flags: the worker grew or hit a limit; the host retires it after this reply
