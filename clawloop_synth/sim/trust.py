"""Which handler sources run in-process and which go to a worker process.

Sources shipped with the package (the built-in packs' handlers and rules, exactly as
:func:`~clawloop_synth.sim.pack_folder.load_pack` composes them) and sources the operator vouches for
run in-process; everything else (from an LLM, from induction, from a user's pack) is isolated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["contain_this_process", "digest_of", "isolate_everything", "isolated", "mode", "trust_sources"]

_isolate_all = False
_contained = False
_shipped: frozenset[str] | None = None
_vouched: set[str] = set()


def isolate_everything(flag: bool = True) -> None:
    """Run shipped handlers in worker processes too (benchmarks, paranoid deployments)."""
    global _isolate_all
    _isolate_all = flag


def contain_this_process() -> None:
    """This process is itself the sandbox (a resource-limited child started by
    :mod:`clawloop_synth.induce.contained`): run every source in-process, still under the policy
    and the per-call limits. Called only by that child's entry point, after it limited itself."""
    global _contained
    _contained = True


def trust_sources(sources: Iterable[str]) -> None:
    """Let these exact sources run in-process like shipped handlers (code the operator vouches
    for, e.g. a benchmark's own handlers). Nothing from an LLM or a user's pack belongs here."""
    _vouched.update(digest_of(source) for source in sources)


def mode() -> tuple[bool, bool, int]:
    """What :func:`isolated` decides by now, as a value: for caches of results that may depend on it."""
    return _isolate_all, _contained, len(_vouched)  # vouching only adds sources


def isolated(digest: str) -> bool:
    """Whether the source with this digest must run in a worker process."""
    if _contained:
        return False
    return _isolate_all or (digest not in _vouched and digest not in _shipped_digests())


def _shipped_digests() -> frozenset[str]:
    global _shipped
    if _shipped is None:
        from clawloop_synth.sim.pack_folder import BUILTIN_DIR, builtin_names, load_pack

        found: set[str] = set()
        for name in builtin_names():
            pack = load_pack(BUILTIN_DIR / name)
            found.update(digest_of(tool.handler) for tool in pack.tools)
            found.update(digest_of(rule) for rule in pack.rules.values())
        _shipped = frozenset(found)
    return _shipped


def digest_of(source: str) -> str:
    """The sha256 of a source (lone surrogates kept), the key of trust and of the worker's cache."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
