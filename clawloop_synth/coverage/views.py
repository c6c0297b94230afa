"""One view for real traces and synthetic tasks, so both embed into the same space.

A view has four facets; each is embedded on its own with the same embedder and the unit vectors
are concatenated with weights, so the cosine of two views is the weighted mean of the cosines of
their facets (:func:`embed_views`):

==========  ======  ===========================================  ===================================
facet       weight  real ``Trace``                               synthetic ``TaskSpec``
==========  ======  ===========================================  ===================================
goal        1/3     intent words of ``instruction``, else of     intent words of ``instruction``
                    the first user message
calls       1/6     the assistant's tool calls, in order         ``reference.calls``, in order
writes      1/6     those calls that change state                those calls that change state
failures    1/3     codes of the ``Failure`` records mined on    ``features.failure_codes`` and
                    it                                           ``target_code``
==========  ======  ===========================================  ===================================

Why these choices:

- *Intent words.* A real goal is often a long user-simulator persona ("You are mia_li_3668. You
  want to fly from New York ...") and a synthetic one a short request ("Hi, I'm Amelia Ito ...
  please cancel reservation K4J0ER"). What they share is what the user wants, not who they are or
  which record they name. So entities become typed placeholders (``<ID>``, ``<NUM>``, ``<DATE>``,
  ``<TIME>`` by the miner's card normalizer, and ``<NAME>`` for a run of capitalised words inside a
  sentence: people, cities, airports, card brands), function words, pronouns, greetings and
  self-introductions are dropped, and a light suffix stripper folds inflections ("cancelled",
  "cancel"; "bags", "bag"). At most ``GOAL_WORDS`` words are kept.
- *Tool-call signature.* Consecutive repeats are collapsed, because a retry of a failed call is not
  a different plan and the reference solution of a task has no retries. The state-changing calls
  (``writes``: the tool names whose ``ToolSpec.writes`` is set, passed in by the caller) are the
  outcome of the conversation, so they form a facet of their own besides appearing in ``calls``.
- *Per-facet embedding.* Embedding the three lines as one text lets the longest facet (the
  persona) decide the vector, and cuts it at a sentence embedder's token limit; per facet, each
  counts by its weight whatever its length.

The tool signature of a real trace is what the agent did; that of a task is what it should do.
The failures facet says where the two differ: the codes mined on the trace, the targeted code of
the task (``none`` for a trace without failures or an untargeted task).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from clawloop_synth.mine.cards import normalize_text
from clawloop_synth.types import Failure, TaskSpec, Trace

__all__ = [
    "FACETS",
    "GOAL_WORDS",
    "TextView",
    "embed_views",
    "failures_by_trace",
    "intent_words",
    "task_view",
    "trace_view",
]

GOAL_WORDS = 80
FACETS: dict[str, float] = {"goal": 1 / 3, "calls": 1 / 6, "writes": 1 / 6, "failures": 1 / 3}

# Function words, pronouns, greetings, politeness and self-introduction: none of them says what
# the user wants. Negations (no, not) stay: "no insurance" is part of the request.
_STOP_WORDS = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each either else even ever
few for from further had has have having he her here hers herself him himself his how i if in into
is it its itself just let me might mine more most much must my myself now of off on once
one only or other our ours ourselves out over own please same shall she should so some such than
that the their theirs them themselves then there these they this those through to too under until
up upon very was we were what when where which while who whom why will with would yet you your
yours yourself yourselves okay ok hi hello hey dear good morning afternoon evening thanks thank
sure yes name named call called id user customer im
"""
_STOP = frozenset(_STOP_WORDS.split())
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"<[A-Z]+>|[A-Za-z][A-Za-z']*")
_DOUBLE = re.compile(r"([b-df-hj-np-tv-z])\1$")


def _stem(word: str) -> str:
    """A light suffix stripper: enough to fold plurals and past tenses, not a linguistic stemmer."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return _DOUBLE.sub(r"\1", word) if len(word) >= 5 else word


def _pieces(sentence: str, size: int = 200) -> list[str]:
    """Whitespace-bounded pieces short enough for the card normalizer, which clips long text."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for word in sentence.split():
        if current and length + len(word) + 1 > size:
            pieces.append(" ".join(current))
            current, length = [], 0
        current.append(word)
        length += len(word) + 1
    return pieces + [" ".join(current)] if current else pieces


def intent_words(text: str | None, limit: int = GOAL_WORDS) -> str:
    """What the user wants, in order: entities as typed placeholders, filler words dropped."""
    out: list[str] = []
    for sentence in _SENTENCE.split(text or ""):
        words = [w for piece in _pieces(sentence) for w in _WORD.findall(normalize_text(piece))]
        in_name = False
        for position, word in enumerate(words):
            lower = word.lower().replace("'", "")
            if word.startswith("<"):
                token = word
            elif lower in _STOP:
                token = ""
            elif (word[0].isupper() and position > 0) or (len(word) > 1 and word.isupper()):
                # Capitalised inside a sentence, or an all-caps code: a proper name.
                if in_name:
                    continue
                token = "<NAME>"
            else:
                token = _stem(lower)
            in_name = token == "<NAME>"
            if token:
                out.append(token)
            if len(out) >= limit:
                return " ".join(out)
    return " ".join(out)


@dataclass(frozen=True)
class TextView:
    key: str
    goal: str
    calls: tuple[str, ...]
    writes: tuple[str, ...]
    failure_codes: tuple[str, ...]

    def facets(self) -> dict[str, str]:
        """The text of each facet (``none`` when empty, so that two empty facets match)."""
        return {"goal": self.goal or "none",
                "calls": " > ".join(self.calls) or "none",
                "writes": " > ".join(self.writes) or "none",
                "failures": ", ".join(self.failure_codes) or "none"}

    def render(self) -> str:
        return "\n".join(f"{name}: {text}" for name, text in self.facets().items())


def _collapse(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return tuple(out)


def _view(key: str, goal: str | None, calls: Iterable[str], writes: frozenset[str],
          codes: Iterable[str]) -> TextView:
    sequence = _collapse(calls)
    return TextView(key, intent_words(goal), sequence, _collapse(c for c in sequence if c in writes),
                    tuple(sorted(set(codes))))


def trace_view(trace: Trace, failures: Iterable[Failure] = (), writes: Iterable[str] = ()) -> TextView:
    """The view of a real trace; ``failures`` are the ones mined on it, ``writes`` the
    state-changing tool names."""
    goal = trace.instruction or next((m.content for m in trace.messages if m.role == "user" and m.content), "")
    calls = (call.name for message in trace.messages if message.role == "assistant"
             for call in message.tool_calls)
    return _view(trace.id, goal, calls, frozenset(writes), (failure.code for failure in failures))


def task_view(task: TaskSpec, writes: Iterable[str] | None = None) -> TextView:
    """The view of a synthetic task; ``writes`` defaults to its own tools marked as writing."""
    codes = set(task.features.failure_codes)
    if task.target_code:
        codes.add(task.target_code)
    names = frozenset(writes) if writes is not None else frozenset(t.name for t in task.tools if t.writes)
    return _view(task.id, task.instruction, (call.name for call in task.reference.calls), names, codes)


def embed_views(views: Sequence[TextView], embed: Callable[[list[str]], np.ndarray],
                weights: dict[str, float] | None = None) -> np.ndarray:
    """Unit rows whose inner product is the weighted mean of the facets' cosine similarities.

    Each facet is embedded with ``embed`` (an ``Embedder.embed``), scaled by the square root of
    its share of the weights, and the blocks are concatenated.
    """
    weights = weights or FACETS
    total = sum(weights.values())
    facets = [view.facets() for view in views]
    blocks = []
    for name, weight in weights.items():
        if weight <= 0:
            continue
        rows = np.asarray(embed([f[name] for f in facets]), dtype=np.float32)
        rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        blocks.append(rows * np.float32(np.sqrt(weight / total)))
    return np.hstack(blocks) if blocks else np.zeros((len(views), 0), dtype=np.float32)


def failures_by_trace(failures: Iterable[Failure]) -> dict[str, list[Failure]]:
    grouped: dict[str, list[Failure]] = {}
    for failure in failures:
        grouped.setdefault(failure.trace_id, []).append(failure)
    return grouped
