"""Stream records out of JSON files without loading the file whole.

Two shapes: JSON Lines (one value a line) and one top-level JSON array whose elements are read one
at a time with the C decoder's ``raw_decode`` over a sliding text buffer, so memory stays at one
chunk plus one record whatever the file's size.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError

__all__ = ["first_bytes", "first_line", "iter_json_array", "iter_jsonl"]

_CHUNK = 1 << 20
_WHITESPACE = " \t\r\n"
_decoder = json.JSONDecoder()


def first_bytes(path: Path, size: int = 1 << 16) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def first_line(path: Path) -> bytes:
    """The file's first non-blank line, whole, however long (a coding agent's trace may be megabytes)."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                return line
    return b""


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any | InputError]]:
    """Yield (line number, value) for each non-blank line; a bad line yields an InputError instead."""
    # A large buffer: a coding agent's line of megabytes is then read in a few calls, not hundreds.
    with path.open("rb", buffering=_CHUNK) as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.isspace():  # (not strip(): that would copy every long line once more)
                continue
            try:
                yield line_no, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield line_no, InputError(f"not valid JSON ({exc})", file=str(path), record=f"line {line_no}")


def iter_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (record number, value) for each element of a top-level JSON array, 1-based.

    Raises InputError naming the record where the text is not JSON or the file ends early.
    """
    reader = codecs.getincrementaldecoder("utf-8-sig")()
    buffer = ""
    pos = 0
    eof = False
    record = 0
    with path.open("rb") as handle:

        def refill() -> bool:
            nonlocal buffer, pos, eof
            if eof:
                return False
            chunk = handle.read(_CHUNK)
            eof = not chunk
            buffer = buffer[pos:] + reader.decode(chunk, final=eof)
            pos = 0
            return True

        def skip_space() -> str | None:
            nonlocal pos
            while True:
                while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                    pos += 1
                if pos < len(buffer):
                    return buffer[pos]
                if not refill():
                    return None

        if skip_space() != "[":
            raise InputError("expected a JSON array", file=str(path))
        pos += 1
        expect_value = True
        while True:
            char = skip_space()
            if char is None:
                raise InputError(f"truncated JSON: the file ends after record {record}", file=str(path),
                                 record=f"record {record + 1}")
            if char == "]" and (record == 0 or not expect_value):
                return
            if not expect_value:
                if char != ",":
                    raise InputError(f"expected ',' or ']' after record {record}", file=str(path),
                                     record=f"record {record + 1}")
                pos += 1
                expect_value = True
                continue
            record += 1
            while True:
                try:
                    value, end = _decoder.raw_decode(buffer, pos)
                    break
                except json.JSONDecodeError as exc:
                    # Before the end of the file an error may only mean that the record goes on in
                    # the next chunk; read more and try again. At the end of the file it is real.
                    if refill():
                        continue
                    truncated = exc.msg.startswith("Unterminated") or exc.pos >= len(buffer.rstrip()) - 1
                    problem = "truncated JSON: the file ends inside it" if truncated \
                        else f"not valid JSON ({exc.msg} at char {exc.pos - pos} of the record)"
                    raise InputError(problem, file=str(path), record=f"record {record}") from None
            pos = end
            expect_value = False
            yield record, value
