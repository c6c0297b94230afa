"""The one error type the CLI turns into a single red line.

Bad input is named precisely (file, record or line, field) so that a user can find and fix it.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(Exception):
    """Bad user input: names where it is (file, record, field) and what is wrong."""

    def __init__(self, message: str, *, file: str | None = None, record: str | None = None,
                 field: str | None = None) -> None:
        self.message = message
        self.file = file
        self.record = record
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [part for part in (self.file, self.record, f"field '{self.field}'" if self.field else None) if part]
        return f"{', '.join(where)}: {self.message}" if where else self.message
