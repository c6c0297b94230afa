"""Successful runs kept as references for contrasting failed ones (no gold needed).

A failed run is compared with successful runs of the same task when there are any, otherwise with
the successful runs whose user side reads most alike: the opening user message, or every user turn
(users often open with "I need a change" and say which change later). Similarity is an IDF-weighted
word cosine over the normalized text: ids, dates and numbers become placeholders, so two requests
of one kind on different records read alike.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.types import Trace

__all__ = ["TEXTS", "Calls", "Reference", "References", "opening_request", "user_text"]

TEXTS = ("opening", "user")

_WORD = re.compile(r"[a-z][a-z']+")
_MAX_CHARS = 4000


def opening_request(trace: Trace) -> str:
    """The first user message's text (what the run was asked to do)."""
    return next((m.content or "" for m in trace.messages if m.role == "user" and m.content), "")


def user_text(trace: Trace) -> str:
    """Every user turn's text, in order."""
    return "\n".join(m.content or "" for m in trace.messages if m.role == "user" and m.content)


def _text(trace: Trace, which: str) -> str:
    return opening_request(trace) if which == "opening" else user_text(trace)


def _words(text: str) -> Counter[str]:
    from clawloop_synth.mine.cards import normalize_text

    # normalize_text cuts at 240 chars; placeholders are dropped, only words carry the request's kind.
    text = " ".join(normalize_text(text[i:i + 200]) for i in range(0, min(len(text), _MAX_CHARS), 200))
    return Counter(w for w in _WORD.findall(text.lower()) if len(w) > 2)


Calls = tuple[tuple[int, str, dict[str, Any]], ...]  # (message index, tool, arguments) of calls that went through


def _calls(trace: Trace) -> Calls:
    return tuple((s.call_index, s.call.name, s.call.arguments) for s in trace.tool_steps() if not s.is_error)


@dataclass(frozen=True)
class Reference:
    """A successful run: its id, task, words (per text, see ``TEXTS``) and the tool calls that went
    through, in order."""

    trace_id: str
    task_id: str | None
    words: dict[str, Counter[str]]
    calls: Calls


@dataclass
class References:
    """Successful runs by task, with a word index for finding the nearest ones."""

    by_task: dict[str, list[Reference]] = field(default_factory=lambda: defaultdict(list))
    runs: list[Reference] = field(default_factory=list)
    # The tool calls of failed runs, by task: what several attempts at one task agree on.
    failed_by_task: dict[str, list[tuple[str, Calls]]] = field(default_factory=lambda: defaultdict(list))
    _df: dict[str, Counter[str]] = field(default_factory=lambda: {t: Counter() for t in TEXTS})
    _index: dict[str, tuple[list[float], dict[str, list[tuple[int, float]]]]] = field(default_factory=dict)

    def add_failed(self, trace: Trace) -> None:
        """Keep a failed run's calls that went through (runs without a task id have no siblings)."""
        if trace.task_id is not None:
            self.failed_by_task[trace.task_id].append((trace.id, _calls(trace)))

    def other_attempts(self, trace: Trace) -> list[tuple[str, Calls]]:
        """(id, calls) of the other failed runs of the trace's task."""
        if trace.task_id is None:
            return []
        return [run for run in self.failed_by_task.get(trace.task_id, []) if run[0] != trace.id]

    def add(self, trace: Trace) -> None:
        calls = _calls(trace)
        ref = Reference(trace.id, trace.task_id, {t: _words(_text(trace, t)) for t in TEXTS}, calls)
        self.runs.append(ref)
        if trace.task_id is not None:
            self.by_task[trace.task_id].append(ref)
        for t in TEXTS:
            self._df[t].update(ref.words[t].keys())
        self._index = {}

    def same_task(self, trace: Trace) -> list[Reference]:
        """Successful runs of the trace's task (other than the trace itself)."""
        if trace.task_id is None:
            return []
        return [r for r in self.by_task.get(trace.task_id, []) if r.trace_id != trace.id]

    def _idf(self, text: str, word: str) -> float:
        return math.log((1 + len(self.runs)) / (1 + self._df[text].get(word, 0))) + 1.0

    def _weights(self, text: str, words: Counter[str]) -> dict[str, float]:
        return {w: n * self._idf(text, w) for w, n in words.items()}

    def _postings(self, text: str) -> tuple[list[float], dict[str, list[tuple[int, float]]]]:
        """Per run the norm of its weighted words, and word -> (run, weight) postings (built once)."""
        if text not in self._index:
            norms, postings = [], defaultdict(list)
            for i, ref in enumerate(self.runs):
                weights = self._weights(text, ref.words[text])
                norms.append(math.sqrt(sum(v * v for v in weights.values())))
                for word, weight in weights.items():
                    postings[word].append((i, weight))
            self._index[text] = (norms, dict(postings))
        return self._index[text]

    def nearest(self, trace: Trace, min_similarity: float, n: int = 1,
                text: str = "user") -> list[tuple[float, Reference]]:
        """Up to ``n`` successful runs of other tasks whose ``text`` (``opening`` request or all
        ``user`` turns) is most similar (cosine >= ``min_similarity``), most similar first.

        Past a few thousand runs, words found in more than half of them are left out of the sum
        (their weight is low, and each would cost a pass over half the runs)."""
        if not self.runs:
            return []
        norms, postings = self._postings(text)
        query = self._weights(text, _words(_text(trace, text)))
        qnorm = math.sqrt(sum(v * v for v in query.values()))
        if qnorm == 0:
            return []
        cap = max(2000, len(self.runs) // 2)
        dots: dict[int, float] = defaultdict(float)
        for word, q in query.items():
            hits = postings.get(word, [])
            if len(hits) <= cap:
                for i, weight in hits:
                    dots[i] += q * weight
        scored = []
        for i, dot in dots.items():
            ref = self.runs[i]
            same_task = trace.task_id is not None and ref.task_id == trace.task_id
            if ref.trace_id == trace.id or norms[i] == 0 or same_task:
                continue
            sim = dot / (qnorm * norms[i])
            if sim >= min_similarity:
                scored.append((sim, ref))
        scored.sort(key=lambda p: (-p[0], p[1].trace_id))
        return scored[:n]
