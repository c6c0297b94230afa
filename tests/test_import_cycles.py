"""No module of ``clawloop_synth/`` imports one that imports it back (issue 16, item 7).

The graph is built with ``ast`` from every ``.py`` file, counting every import statement anywhere in
the file: at the top, inside functions, under ``if TYPE_CHECKING:``. Relative imports are resolved;
``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else ``pkg``.

Strict about packages: importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, so it
counts as importing ``a`` and ``a.b`` too, and a package ``__init__`` that re-exports its submodules
imports them. The one edge left out is that implicit one to the importer's *own* enclosing packages:
Python has always run those before the importer, so ``a.b.c`` importing ``a.b.d`` does not import
``a.b`` again (``from a.b import name``, which reads the package's namespace, still counts).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "clawloop_synth"


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module under ``root`` by dotted name (a package by its name, for its ``__init__.py``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The project modules that module ``name`` (file ``path``) imports, by the rules above."""
    is_package = path.name == "__init__.py"
    explicit: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            explicit.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                explicit.add(sub if sub in modules else target)
    own = set(_ancestors(name))
    edges = set()
    for target in explicit:
        if target not in modules:  # another package, or a name missing from a module of ours
            continue
        edges.add(target)
        edges.update(parent for parent in _ancestors(target) if parent not in own)
    edges.discard(name)
    return edges


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    names = module_names(root)
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that ends where it starts) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_in(group, graph) for group in groups]


def _path_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the group's first module, staying inside the group (breadth-first)."""
    start = min(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return sorted(group)


def test_the_checker_sees_imports_in_functions_under_type_checking_and_through_packages(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.x import f\n")  # re-exports a submodule
    (pkg / "sub" / "x.py").write_text("def f():\n    from ..y import g\n    return g\n")
    (pkg / "y.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import x\n")
    (pkg / "z.py").write_text("from . import y\nfrom pkg.sub.x import f\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.x"] == {"pkg.y"}  # its own package pkg.sub is not an import
    assert graph["pkg.y"] == {"pkg.sub.x", "pkg.sub"}  # through pkg.sub's __init__
    assert graph["pkg.z"] == {"pkg.y", "pkg.sub", "pkg.sub.x"}
    found = cycles(graph)
    assert len(found) == 1 and set(found[0]) == {"pkg.y", "pkg.sub", "pkg.sub.x"}, found
    assert found[0][0] == found[0][-1]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    assert len(graph) > 100 and "clawloop_synth.cli.run" in graph
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join("  " + " -> ".join(cycle) for cycle in found)
