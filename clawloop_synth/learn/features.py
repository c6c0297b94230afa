"""Generic features of (dialogue state, candidate action) pairs for the policy learner.

Nothing here knows a domain: candidates come from the tools' JSON Schemas, the instruction's tokens, the leaves
of earlier tool results (with their key paths and the record they sit in) and values seen in training
demonstrations; features are hashed strings (tool and parameter names, key names, sources, shapes, matches).
"""

from __future__ import annotations

import functools
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DIM", "SPLIT", "Episode", "Leaf", "cross", "fits_type", "hash_features", "in_answer", "leaves", "shape",
           "slots_of", "tokens"]

DIM = 1 << 18
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.:@/]*[A-Za-z0-9]|[A-Za-z0-9]")
_WORD = re.compile(r"[a-z]{3,}")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d")  # an ISO 8601 date and time
SPLIT = re.compile(r"[^a-z0-9]+")  # what separates the word parts of lowercased text
_CLAUSE = re.compile(r"[.;!?]\s+|\n+|,?\s+(?:and\s+)?(?:also|then|additionally|afterwards|after that)\s+|,\s+and\s+")


def tokens(text: str) -> list[str]:
    """Value-like spans of ``text`` (ids, dates, times, numbers, words)."""
    return _TOKEN.findall(text)


_CAP_RUN = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")


def _capitalized_runs(text: str) -> list[str]:
    """Runs of capitalized words ("Kofi Lindqvist", "Dr. Priya Raman" -> "Priya Raman"): multi-word names."""
    out: list[str] = []
    for run in _CAP_RUN.findall(text):
        words = run.split()
        out += [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, min(len(words), i + 3) + 1)]
    return out


@functools.lru_cache(maxsize=65536)
def _shape(text: str) -> str:
    out: list[str] = []
    for ch in text[:40]:
        c = "A" if ch.isupper() else "a" if ch.islower() else "9" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def shape(value: Any) -> str:
    """A value's character classes with runs collapsed ("K4J0ER" -> "A9A9A", "2024-05-28" -> "9-9-9")."""
    return _shape(str(value))


_HASHED: dict[str, int] = {}


def hash_features(names: Iterable[str]) -> np.ndarray:
    """Indices of the hashed feature names (deterministic across processes; memoised, names recur a lot)."""
    cache = _HASHED
    out = []
    for n in names:
        h = cache.get(n)
        if h is None:
            if len(cache) > 400_000:
                cache.clear()
            h = cache[n] = zlib.crc32(n.encode()) & (DIM - 1)
        out.append(h)
    return np.array(out, dtype=np.int64)


def cross(prefixes: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The hashed conjunctions of each prefix id with each base feature id (arithmetic, no strings)."""
    return ((prefixes[:, None] * 0x9E3779B1 + base[None, :] * 0x85EBCA6B) >> 7 & (DIM - 1)).ravel()


@dataclass(slots=True)
class Leaf:
    value: Any
    key: str
    path: str
    tool: str
    ago: int  # how many results back (0 = the latest)
    record: int  # index of the enclosing record (for the record-match feature)


@dataclass
class Episode:
    """The dialogue so far, as the policy sees it."""

    instruction: str
    tools: dict[str, dict[str, Any]]
    writes: dict[str, bool]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    results: list[tuple[str, Any, bool]] = field(default_factory=list)  # (tool, parsed value, is_error)

    def __post_init__(self) -> None:
        self.instr_l = self.instruction.lower()
        self.instr_tokens = tokens(self.instruction)
        self.instr_tokens += _capitalized_runs(self.instruction)
        # the word before each token's first occurrence ("from LAS to IAH": origin vs destination)
        self.instr_prev: dict[str, str] = {}
        for m in _TOKEN.finditer(self.instruction):
            before = _WORD.findall(self.instr_l[max(0, m.start() - 24): m.start()])
            self.instr_prev.setdefault(m.group(), before[-1] if before else "<bos>")
        self.instr_words = sorted(set(_WORD.findall(self.instr_l)))[:80]
        self.instr_toks_l = {t.lower() for t in self.instr_tokens}
        self.instr_shapes = {shape(t) for t in self.instr_toks_l}
        self.instr_parts = set(SPLIT.split(self.instr_l))
        # the request's clauses (sentences, and parts joined by "also" / "then"): after a write, the clauses no
        # write has served yet say whether a second request remains and which words it turns on
        self.clauses = [(set(_WORD.findall(c)), {t.lower() for t in tokens(c) if len(t) >= 3})
                        for c in _CLAUSE.split(self.instr_l) if _WORD.search(c)][:8]
        self._leaves: list[Leaf] | None = None
        self.record_match: list[int] = []
        self.record_call: list[int] = []  # the index of the call whose result holds each record

    def add(self, tool: str, arguments: dict[str, Any], content: str, is_error: bool) -> None:
        try:
            value = json.loads(content)
        except ValueError:
            value = content
        self.calls.append((tool, arguments))
        self.results.append((tool, value, is_error))
        self._leaves = None

    def unserved(self) -> list[set[str]]:
        """The words of the clauses no successful write has served yet.

        A clause naming ids is served by a write that sent one of them; a clause without ids by a write whose
        tool name shares a word with it that no other clause has (words every clause shares say nothing).
        """
        return [self.clauses[i][0] for i in self._unserved()]

    def open_tokens(self) -> set[str] | None:
        """The (lowercased) tokens of the clauses no successful write has served yet; None before any write
        (then every clause is open): a second request's ids, once the first is done."""
        if not any(self.writes.get(c) and not err for (c, _), (_, _, err) in zip(self.calls, self.results,
                                                                                 strict=True)):
            return None
        return set().union(*(self.clauses[i][1] for i in self._unserved()))

    def _unserved(self) -> list[int]:
        done = [(set(SPLIT.split(c.lower())), json.dumps(a).lower()) for (c, a), (_, _, err)
                in zip(self.calls, self.results, strict=True) if self.writes.get(c) and not err]
        if not done:
            return list(range(len(self.clauses)))
        out = []
        for i, (words, toks) in enumerate(self.clauses):
            ids = {t for t in toks if any(ch.isdigit() for ch in t)}
            if ids:
                served = any(t in sent for t in ids for _, sent in done)
            else:
                own = words - set().union(*(w for j, (w, _) in enumerate(self.clauses) if j != i))
                served = any(own & parts for parts, _ in done)
            if not served:
                out.append(i)
        return out

    def in_instruction(self, value: Any) -> bool:
        v = str(value).lower()
        if len(v) < 2:
            return bool(v) and v in self.instr_parts
        if v in self.instr_l:
            return True
        parts = [p for p in SPLIT.split(v) if p]
        # "06:00:00" against "06:00": a value whose leading parts appear together
        return len(parts) >= 3 and ":".join(parts[:-1]) in self.instr_l

    def names(self, value: Any) -> tuple[bool, bool]:
        """(the instruction names ``value`` as a whole token, it names some value of the same shape): a leaf
        the request could have named but did not ("the 13:00 flight" against a departure at 01:00:00)."""
        forms = _forms(value)
        return (any(f in self.instr_toks_l for f in forms), any(shape(f) in self.instr_shapes for f in forms))

    def leaves(self) -> list[Leaf]:
        if self._leaves is None:
            out: list[Leaf] = []
            self.record_match, self.record_call = [], []
            n = len(self.results)
            for i, (tool, value, is_error) in enumerate(self.results):
                if is_error and not isinstance(value, str):
                    continue
                for leaf_list in (_text_records(value) if isinstance(value, str) else _records(value)):
                    rid = len(self.record_match)
                    self.record_match.append(sum(1 for lf in leaf_list if self.in_instruction(lf[0])))
                    self.record_call.append(i)
                    for val, key, path in leaf_list:
                        out.append(Leaf(val, key, path, tool, n - 1 - i, rid))
            self._leaves = out
        return self._leaves


@functools.lru_cache(maxsize=65536)
def _forms_of(text: str) -> tuple[str, ...]:
    parts = [p for p in SPLIT.split(text) if p]
    # "06:00:00" is named as "06:00" too (as in Episode.in_instruction)
    return (text, ":".join(parts[:-1])) if len(parts) >= 3 else (text,)


def _forms(value: Any) -> tuple[str, ...]:
    return _forms_of(str(value).lower())


def _text_records(text: str) -> list[list[tuple[Any, str, str]]]:
    """A text result (an error message, say) as one record of its tokens, each keyed by the word before it."""
    rec: list[tuple[Any, str, str]] = []
    low = text.lower()
    for m in _TOKEN.finditer(text):
        before = _WORD.findall(low[max(0, m.start() - 24): m.start()])
        key = "txt:" + (before[-1] if before else "<bos>")
        tok = m.group()
        rec.append((int(tok) if tok.lstrip("-").isdigit() and len(tok) < 12 else tok, key, "." + key))
    return [rec] if rec else []


def leaves(value: Any) -> Iterator[tuple[Any, str, str]]:
    """Scalar leaves of a JSON value as (value, last key, key path with list indices as '*')."""
    for leaf_list in _records(value):
        yield from leaf_list


def _records(value: Any) -> list[list[tuple[Any, str, str]]]:
    """The scalar leaves grouped by record: each list element and each value of an id-keyed dict is a record."""
    records: list[list[tuple[Any, str, str]]] = []

    def walk(v: Any, key: str, path: str, current: list[tuple[Any, str, str]]) -> None:
        if isinstance(v, dict):
            keyed = len(v) > 1 and all(isinstance(x, dict) for x in v.values())
            for k, x in v.items():
                if keyed:
                    rec: list[tuple[Any, str, str]] = [(k, key + "#key", path + ".#key")]
                    records.append(rec)
                    walk(x, key, path + ".*", rec)
                else:
                    walk(x, str(k), f"{path}.{k}", current)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, (dict, list)):
                    rec = []
                    records.append(rec)
                    walk(x, key, path + "[]", rec)
                else:
                    current.append((x, key, path + "[]"))
        elif v is not None:
            current.append((v, key, path))
            if isinstance(v, str) and _STAMP.match(v):  # a timestamp's date is a fact of its own ("booked on")
                current.append((v[:10], key + "#date", path + "#date"))

    top: list[tuple[Any, str, str]] = []
    records.append(top)
    walk(value, "", "", top)
    return [r for r in records if r]


def slots_of(schema: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any], bool]]:
    """Leaf slots of a parameter schema: (path, leaf schema, required), arrays of objects as one item."""
    out: list[tuple[str, dict[str, Any], bool]] = []
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    for name, sub in props.items():
        path = f"{prefix}.{name}" if prefix else name
        sub = sub if isinstance(sub, dict) else {}
        kind = sub.get("type")
        if kind == "object" and sub.get("properties"):
            out.extend((p, s, r and name in required) for p, s, r in slots_of(sub, path))
        elif kind == "array":
            raw = sub.get("items")
            items: dict[str, Any] = raw if isinstance(raw, dict) else {}
            if items.get("type") == "object" and items.get("properties"):
                out.extend((p, s, r and name in required) for p, s, r in slots_of(items, path + "[]"))
            else:
                out.append((path + "[]", items, name in required))
        else:
            out.append((path, sub, name in required))
    return out


def flatten_args(args: Any, prefix: str = "") -> dict[str, Any]:
    """Demonstration arguments as slot path -> value (first item of each array)."""
    out: dict[str, Any] = {}
    if isinstance(args, dict):
        for k, v in args.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                out.update(flatten_args(v, path))
            elif isinstance(v, list):
                if v and isinstance(v[0], dict):
                    out.update(flatten_args(v[0], path + "[]"))
                elif v:
                    out[path + "[]"] = v[0]
            else:
                out[path] = v
    return out


def build_args(values: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flatten_args`: slot path -> value back into nested arguments."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        node: Any = out
        parts = path.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            is_list = part.endswith("[]")
            name = part[:-2] if is_list else part
            if is_list:
                lst = node.setdefault(name, [])
                if last:
                    lst.append(value)
                    break
                if not lst:
                    lst.append({})
                node = lst[0]
            elif last:
                node[name] = value
            else:
                node = node.setdefault(name, {})
    return out


def fits_type(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` can fill a slot of JSON Schema ``schema`` (its type only; booleans only where allowed)."""
    kind = schema.get("type")
    if isinstance(value, bool):
        return kind in (None, "boolean")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int)
    if kind == "number":
        return isinstance(value, (int, float))
    if kind == "boolean":
        return False
    return isinstance(value, (str, int, float))


def in_answer(value: Any, answer: str) -> bool:
    """Whether ``answer`` reports ``value``: a number as a whole number, text of two or more characters anywhere."""
    text = str(value)
    if isinstance(value, (int, float)):
        return re.search(rf"(?<![\w.-]){re.escape(text)}(?![\w])", answer) is not None
    return len(text) >= 2 and text.lower() in answer.lower()
