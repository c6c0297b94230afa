"""Successful runs kept as references for contrasting failed ones (no gold needed).

A failed run is compared with successful runs of the same task when there are any, otherwise with
the successful runs whose user side reads most alike: the opening user message, or every user turn
(users often open with "I need a change" and say which change later). Similarity is an IDF-weighted
word cosine over the normalized text: ids, dates and numbers become placeholders, so two requests
of one kind on different records read alike.

Memory stays flat however many runs there are: the runs of each task (successful and failed) are kept on
disk (:class:`~clawloop_synth.mine.task_runs.TaskRuns`), and the nearest-request search looks among a
seeded uniform sample of at most ``SAMPLE`` successful runs (reservoir sampling, so one pass in input order
decides it). Up to ``SAMPLE`` successful runs (every real data set here: tau-bench airline has 84) the
sample is all of them and nothing changes; past it, the nearest run is the nearest one in the sample.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from clawloop_synth.mine.task_runs import Calls, TaskRuns
from clawloop_synth.types import Trace

__all__ = ["SAMPLE", "TEXTS", "Calls", "Reference", "References", "opening_request", "user_text"]

TEXTS = ("opening", "user")

_WORD = re.compile(r"[a-z][a-z']+")
_MAX_CHARS = 4000
SAMPLE = 5000  # successful runs the nearest-request search looks among


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


def _calls(trace: Trace) -> Calls:
    return tuple((s.call_index, s.call.name, s.call.arguments) for s in trace.tool_steps() if not s.is_error)


@dataclass(frozen=True)
class Reference:
    """A successful run: its id, task and the tool calls that went through, in order."""

    trace_id: str
    task_id: str | None
    calls: Calls


@dataclass
class References:
    """Successful and failed runs by task (on disk), and a bounded sample of successful runs with a word
    index for finding the nearest ones. ``sample``: how many successful runs the sample holds; ``seed``:
    which ones it keeps once there are more."""

    sample: int = SAMPLE
    seed: int = 0
    _ok: TaskRuns = field(default_factory=TaskRuns)
    # The tool calls of failed runs, by task: what several attempts at one task agree on.
    _failed: TaskRuns = field(default_factory=TaskRuns)
    # The sample: runs and their words (per text, see ``TEXTS``), filled by reservoir sampling.
    runs: list[Reference] = field(default_factory=list)
    _words: list[dict[str, Counter[str]]] = field(default_factory=list)
    _seen: int = 0
    _rng: random.Random = field(init=False)
    _index: dict[str, tuple[list[float], dict[str, list[tuple[int, float]]], Counter[str]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def add_failed(self, trace: Trace) -> None:
        """Keep a failed run's calls that went through (runs without a task id have no siblings)."""
        if trace.task_id is not None:
            self._failed.add(trace.task_id, trace.id, _calls(trace))

    def other_attempts(self, trace: Trace) -> list[tuple[str, Calls]]:
        """(id, calls) of the other failed runs of the trace's task."""
        if trace.task_id is None:
            return []
        return [run for run in self._failed.get(trace.task_id) if run[0] != trace.id]

    def add(self, trace: Trace) -> None:
        """Keep a successful run: by its task, and in the sample when the draw says so."""
        calls = _calls(trace)
        if trace.task_id is not None:
            self._ok.add(trace.task_id, trace.id, calls)
        self._seen += 1
        # Reservoir sampling (Vitter's algorithm R): every run seen so far is in the sample with the same
        # chance; its words are counted only when it goes in.
        slot = len(self.runs) if len(self.runs) < self.sample else self._rng.randrange(self._seen)
        if slot >= self.sample:
            return
        ref, words = Reference(trace.id, trace.task_id, calls), {t: _words(_text(trace, t)) for t in TEXTS}
        if slot == len(self.runs):
            self.runs.append(ref)
            self._words.append(words)
        else:
            self.runs[slot], self._words[slot] = ref, words
        self._index = {}

    def same_task(self, trace: Trace) -> list[Reference]:
        """Successful runs of the trace's task (other than the trace itself)."""
        if trace.task_id is None:
            return []
        return [Reference(run_id, trace.task_id, calls) for run_id, calls in self._ok.get(trace.task_id)
                if run_id != trace.id]

    def _weights(self, words: Counter[str], df: Counter[str]) -> dict[str, float]:
        n = len(self.runs)
        return {w: c * (math.log((1 + n) / (1 + df.get(w, 0))) + 1.0) for w, c in words.items()}

    def _postings(self, text: str) -> tuple[list[float], dict[str, list[tuple[int, float]]], Counter[str]]:
        """Per sampled run the norm of its IDF-weighted words, word -> (run, weight) postings, and the
        words' document frequencies over the sample (built once)."""
        if text not in self._index:
            df: Counter[str] = Counter()
            for words in self._words:
                df.update(words[text].keys())
            norms, postings = [], defaultdict(list)
            for i, words in enumerate(self._words):
                weights = self._weights(words[text], df)
                norms.append(math.sqrt(sum(v * v for v in weights.values())))
                for word, weight in weights.items():
                    postings[word].append((i, weight))
            self._index[text] = (norms, dict(postings), df)
        return self._index[text]

    def nearest(self, trace: Trace, min_similarity: float, n: int = 1,
                text: str = "user") -> list[tuple[float, Reference]]:
        """Up to ``n`` sampled successful runs of other tasks whose ``text`` (``opening`` request or all
        ``user`` turns) is most similar (cosine >= ``min_similarity``), most similar first.

        Past a few thousand runs, words found in more than half of them are left out of the sum
        (their weight is low, and each would cost a pass over half the runs)."""
        if not self.runs:
            return []
        norms, postings, df = self._postings(text)
        query = self._weights(_words(_text(trace, text)), df)
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
