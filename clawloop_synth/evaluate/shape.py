"""What a task set looks like: kinds, instruction skeletons, tool sequences, writes per task.

An instruction's *skeleton* is its wording with the entities replaced by slots (numbers, amounts, dates,
times, ids, capitalised names) and a greeting sentence collapsed to one slot, so two requests that
differ only in who asks about what count once.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from clawloop_synth.types import TaskSpec

__all__ = ["kind_family", "kind_of", "shape_metrics", "skeleton", "tool_sequence"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_GREETING = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening|day)|greetings|howdy)\b", re.I)
# A self-introduction right after a greeting ("This is Ann.", "My name is ...") belongs to it.
_INTRO = re.compile(r"^(this is|i am|i'm|my name is|my (user|customer|member) id is|it's)\b", re.I)
_SLOTS = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b"), "<time>"),
    (re.compile(r"[$€£]\s?-?\d[\d,]*(\.\d+)?"), "<amount>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b"), "<email>"),
    (re.compile(r"\b(?=\w*\d)(?=\w*[A-Za-z_])\w+\b"), "<id>"),  # letters and digits together: an id
    (re.compile(r"\b\d[\d,]*(\.\d+)?\b"), "<num>"),
    (re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+( [A-Z][a-z]+)*"), "<name>"),  # capitalised words mid-sentence
]


def skeleton(instruction: str) -> str:
    """The instruction with entities replaced by slots and a greeting sentence collapsed."""
    parts: list[str] = []
    for sentence in _SENTENCE.split(instruction.strip()):
        if _GREETING.match(sentence) or (parts and parts[-1] == "<greeting>" and _INTRO.match(sentence)):
            if not parts or parts[-1] != "<greeting>":
                parts.append("<greeting>")
            continue
        for pattern, slot in _SLOTS:
            sentence = pattern.sub(slot, sentence)
        parts.append(sentence.lower())
    return " ".join(parts)


def tool_sequence(task: TaskSpec, writes_only: bool = False) -> tuple[str, ...]:
    """The reference's tool names in order (a retried identical call counted once)."""
    writes = {spec.name for spec in task.tools if spec.writes}
    out: list[str] = []
    previous = None
    for call in task.reference.calls:
        if writes_only and call.name not in writes:
            continue
        key = (call.name, repr(sorted(call.arguments.items())))
        if key != previous:
            out.append(call.name)
        previous = key
    return tuple(out)


def kind_of(task: TaskSpec) -> str:
    """The task's kind as its generator named it (``prompt_version`` prefix for older procedural tasks)."""
    if task.kind:
        return task.kind
    version = task.provenance.prompt_version or ""
    return version.split(":")[0].strip() if ":" in version else "unknown"


def kind_family(kind: str) -> str:
    """A kind as the table counts it: a task of several requests ("cabin + bags") is "two requests"."""
    parts = [p for p in kind.split(" + ") if p]
    return kind if len(parts) < 2 else ("two requests" if len(parts) == 2 else f"{len(parts)} requests")


def _shares(counts: Counter[str], total: int) -> dict[str, float]:
    return {key: round(n / total, 3) for key, n in counts.most_common()} if total else {}


def shape_metrics(tasks: list[TaskSpec]) -> dict[str, Any]:
    """Kind shares, write-count shares, distinct skeletons and sequences, tools exercised."""
    n = len(tasks)
    writes = [len(tool_sequence(t, writes_only=True)) for t in tasks]
    by_writes = Counter("no write" if w == 0 else "one write" if w == 1 else "two or more writes" for w in writes)
    used = Counter(name for t in tasks for name in set(tool_sequence(t)))
    tools = sorted({spec.name for t in tasks for spec in t.tools})
    return {
        "tasks": n,
        "kind_shares": _shares(Counter(kind_of(t) for t in tasks), n),
        "kind_family_shares": _shares(Counter(kind_family(kind_of(t)) for t in tasks), n),
        "write_shares": _shares(by_writes, n),
        "writes_per_task": {"mean": round(sum(writes) / n, 3) if n else None,
                            "max": max(writes, default=0)},
        "distinct_skeletons": len({skeleton(t.instruction) for t in tasks}),
        "distinct_tool_sequences": len({tool_sequence(t) for t in tasks}),
        "distinct_write_sequences": len({tool_sequence(t, writes_only=True) for t in tasks}),
        "tools_never_exercised": [name for name in tools if name not in used],
    }
