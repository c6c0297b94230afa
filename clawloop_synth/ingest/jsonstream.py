"""Stream records out of JSON files without loading the file whole.

Two shapes: JSON Lines (one value a line) and one top-level JSON array whose elements are read one
at a time with the C decoder's ``raw_decode`` over a sliding text buffer, so memory stays at one
chunk plus one record whatever the file's size. Either way a bad record is reported as an
:class:`InputError` in its place and the records after it are still read: invalid UTF-8, escaped
lone surrogates, integers beyond 64 bits and nesting deeper than the decoders go are errors of
their record, not of the file. A UTF-8 byte order mark at the start of a file is ignored.

orjson reads an integer beyond 64 bits as an inexact float, silently. Only text with a run of 19 or
more digits can hold one (``2**63`` has 19 digits), so such text, and only it, is read again
with the exact decoder and checked: the one-pass test costs a few percent of reading.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError

__all__ = ["BOM", "first_bytes", "first_line", "iter_json_array", "iter_jsonl", "load_object"]

BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20
_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*"', re.S)
_WHITESPACE = " \t\r\n"
_decoder = json.JSONDecoder()
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # every digit a 0, all else a space
_LONG_RUN = b"0" * 19


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


def _may_hold_big_int(data: bytes) -> bool:
    """Whether ``data`` has a run of 19+ digits (in a number or not): the only text that can hold an
    integer beyond 64 bits."""
    return _LONG_RUN in data.translate(_DIGITS)


def _exact(data: bytes, path: Path, record: str) -> Any:
    """``data`` (text orjson has read) decoded exactly: its value, or an InputError when it holds an
    integer beyond 64 bits."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # (orjson read it: not expected, but never a traceback)
        return InputError("not valid JSON", file=str(path), record=record)
    return _strict(value, path, record)


def load_object(path: Path) -> Any:
    """The whole file as one JSON value (a leading BOM ignored); raises ``orjson.JSONDecodeError``, or
    InputError for an integer beyond 64 bits."""
    data = path.read_bytes()
    if data.startswith(BOM):
        data = data[3:]
    value = orjson.loads(data)
    if _may_hold_big_int(data):
        value = _exact(data, path, "record 1")
        if isinstance(value, InputError):
            raise value
    return value


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any | InputError]]:
    """Yield (line number, value) for each non-blank line; a bad line yields an InputError instead."""
    # A large buffer: a coding agent's line of megabytes is then read in a few calls, not hundreds.
    with path.open("rb", buffering=_CHUNK) as handle:
        for line_no, line in enumerate(handle, start=1):
            if line_no == 1 and line.startswith(BOM):
                line = line[3:]
            if line.isspace():  # (not strip(): that would copy every long line once more)
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield line_no, InputError(f"not valid JSON ({exc})", file=str(path), record=f"line {line_no}")
                continue
            yield line_no, _exact(line, path, f"line {line_no}") if _may_hold_big_int(line) else value


def _value_end(buffer: str, pos: int) -> int | None:
    """Where the array or object starting at ``pos`` ends (None: not in ``buffer``), without
    recursion: used to step over a record nested too deep for the decoder."""
    depth = 0
    i = pos
    while True:
        match = _STRUCTURE.search(buffer, i)
        if match is None:
            return None
        i = match.end()
        char = match.group()
        if char == '"':
            rest = _STRING_REST.match(buffer, i)
            if rest is None:
                return None
            i = rest.end()
        elif char in "[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return i


def _strict(value: Any, path: Path, record: str) -> Any:
    """``value`` if it is JSON in the strict sense (what every later stage writes), else an InputError."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        reason = str(exc)
        if "surrogates" in reason or "UTF-8" in reason:
            reason = "invalid UTF-8 or a lone surrogate in a string"
        elif "64-bit" in reason:
            reason = "an integer beyond 64 bits"
        elif "ecursion" in reason:
            reason = "nested too deep"
        return InputError(f"not valid JSON ({reason})", file=str(path), record=record)
    return value


def iter_json_array(path: Path) -> Iterator[tuple[int, Any | InputError]]:
    """Yield (record number, value) for each element of a top-level JSON array, 1-based; a bad
    record yields an InputError in its place.

    Raises InputError naming the record where the text is not JSON or the file ends early.
    """
    # Invalid UTF-8 becomes lone surrogates, which _strict reports as that record's error.
    reader = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
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
            value: Any
            while True:
                try:
                    value, end = _decoder.raw_decode(buffer, pos)
                    value = _strict(value, path, f"record {record}")
                    break
                except RecursionError:
                    found = _value_end(buffer, pos)
                    if found is None and refill():
                        continue
                    if found is None:
                        raise InputError("truncated JSON: the file ends inside it", file=str(path),
                                         record=f"record {record}") from None
                    value, end = InputError("not valid JSON (nested too deep)", file=str(path),
                                            record=f"record {record}"), found
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
