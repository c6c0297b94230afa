"""Errors the sandbox raises to the host."""

from __future__ import annotations

__all__ = ["HandlerError", "SandboxError"]


class SandboxError(Exception):
    """A handler broke the sandbox's rules or limits: policy violation, timeout, memory, result size.

    The message says which rule and where (handler name, line when known).
    """


class HandlerError(SandboxError):
    """The handler's own code raised; carries the exception type name and message."""

    def __init__(self, type_name: str, message: str, where: str = "") -> None:
        self.type_name = type_name
        self.message = message
        self.where = where
        text = f"{type_name}: {message}" if message else type_name
        super().__init__(f"{text} ({where})" if where else text)
