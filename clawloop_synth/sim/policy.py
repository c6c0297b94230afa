"""The static half of the sandbox: which handler source is allowed, checked on the AST.

A whitelist of node types, plus rules on names and attributes:

- no ``import``, ``class``, ``with``, ``yield``/``await``/``async``, ``match``, ``finally``, bare
  ``except`` (our timeout is a ``BaseException`` and must not be swallowed; ``finally`` could run an
  endless loop or ``continue`` away the in-flight timeout);
- no name, argument, function or attribute that starts with ``_`` (closes ``__class__``,
  ``__globals__``, ``__subclasses__``, ``__builtins__``, ``__import__``, ...);
- no attribute in :data:`DENIED_ATTRIBUTES` or with a frame/generator/code/traceback prefix
  (``str.format``/``format_map`` walk attributes from a format string, ``gi_frame.f_back`` reaches
  the host's frames, ``mro`` lists classes);
- a reflective or I/O builtin (``eval``, ``getattr``, ``open``, ...) that is read but never bound
  by the handler itself is named in the error (it would only be a NameError at run time, since the
  handler's builtins are a whitelist, but a clear message at compile time is kinder).

Size. The source is at most :data:`MAX_SOURCE_CHARS` characters and its tree at most
:data:`MAX_AST_NODES` nodes (300,000 lines took 11 s and 747 MB to parse; isolated handlers are
also parsed inside a worker process, within its CPU and memory limits).

``a ** b`` is rewritten to a guarded power (a huge integer power runs in C for minutes and no
signal can stop it); ``**=`` is refused.
"""

from __future__ import annotations

import ast

from clawloop_synth.sim.errors import SandboxError

__all__ = ["DENIED_ATTRIBUTES", "DENIED_NAMES", "MAX_AST_NODES", "MAX_SOURCE_CHARS", "POW_GUARD",
           "check_and_transform"]

MAX_SOURCE_CHARS = 200_000  # the shipped handlers are under 5,000; an LLM's are a few thousand
MAX_AST_NODES = 50_000

POW_GUARD = "_sandbox_pow"  # injected name; user code cannot spell it (leading underscore)

DENIED_NAMES = frozenset(
    {
        "eval", "exec", "compile", "open", "input", "breakpoint", "help", "exit", "quit",
        "getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars", "dir", "type",
        "object", "super", "id", "hash", "iter", "memoryview", "bytearray", "classmethod",
        "staticmethod", "property", "format", "aiter", "anext", "BaseException", "SystemExit",
        "KeyboardInterrupt", "GeneratorExit",
    }
)

# encode/decode look codecs up by name, which imports modules.
DENIED_ATTRIBUTES = frozenset({"format", "format_map", "mro", "with_traceback", "throw", "encode", "decode"})
_DENIED_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_")

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.FunctionDef, ast.Lambda, ast.arguments, ast.arg, ast.Return, ast.Assign,
    ast.AugAssign, ast.AnnAssign, ast.Delete, ast.For, ast.While, ast.If, ast.Expr, ast.Pass,
    ast.Break, ast.Continue, ast.Try, ast.ExceptHandler, ast.Raise, ast.Assert, ast.Global,
    ast.Nonlocal, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set, ast.ListComp,
    ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Compare, ast.Call,
    ast.keyword, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name, ast.List,
    ast.Tuple, ast.Slice, ast.JoinedStr, ast.FormattedValue, ast.NamedExpr, ast.expr_context,
    ast.boolop, ast.operator, ast.unaryop, ast.cmpop,
)


def _fail(node: ast.AST, message: str) -> SandboxError:
    line = getattr(node, "lineno", None)
    return SandboxError(f"policy: {message}" + (f" (line {line})" if line else ""))


def _bad_identifier(name: str) -> bool:
    return name.startswith("_")


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _position(node: ast.AST) -> tuple[int, int, int, int]:
    if not isinstance(node, ast.stmt | ast.expr | ast.excepthandler | ast.arg | ast.keyword):
        return (1 << 30, 0, 0, 0)  # withitem, comprehension, operators: after their statement
    return (node.lineno, node.col_offset, node.end_lineno or 0, node.end_col_offset or 0)


class _PowRewriter(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow):
            return node
        call = ast.Call(func=ast.Name(id=POW_GUARD, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)


def check_and_transform(source: str, filename: str, entry: str = "invoke") -> ast.Module:
    """Parse ``source``, enforce the policy, and return the guarded module AST.

    ``entry`` is the function the source must define at top level (``invoke`` for a tool handler,
    ``check`` for a pack rule).

    Raises :class:`SandboxError` naming the first violation and its line.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise SandboxError(f"policy: handler source of {len(source)} characters exceeds the limit of "
                           f"{MAX_SOURCE_CHARS}")
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SandboxError(f"policy: syntax error: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SandboxError(f"policy: cannot parse handler: {type(exc).__name__}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_AST_NODES:
        raise SandboxError(f"policy: handler of {len(nodes)} syntax nodes exceeds the limit of {MAX_AST_NODES}")
    bound = _bound_names(tree)
    # Report the first violation in reading order: inner ``a.b`` before outer ``a.b.c``.
    for node in sorted(nodes, key=_position):
        if not isinstance(node, _ALLOWED_NODES):
            raise _fail(node, f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Name):
            if _bad_identifier(node.id):
                raise _fail(node, f"name '{node.id}' is not allowed (leading underscore)")
            if node.id in DENIED_NAMES and node.id not in bound:
                raise _fail(node, f"name '{node.id}' is not allowed (reflection or I/O)")
        elif isinstance(node, ast.Attribute):
            attr = node.attr
            if attr in DENIED_ATTRIBUTES or attr.startswith(_DENIED_PREFIXES):
                raise _fail(node, f"attribute '.{attr}' is not allowed")
        elif isinstance(node, ast.FunctionDef):
            if _bad_identifier(node.name):
                raise _fail(node, f"function name '{node.name}' is not allowed (leading underscore)")
        elif isinstance(node, ast.arg):
            if _bad_identifier(node.arg):
                raise _fail(node, f"argument name '{node.arg}' is not allowed (leading underscore)")
        elif isinstance(node, ast.keyword):
            if node.arg is not None and _bad_identifier(node.arg):
                raise _fail(node, f"keyword '{node.arg}' is not allowed (leading underscore)")
        elif isinstance(node, ast.Try):
            if node.finalbody:
                raise _fail(node, "try/finally is not allowed")
        elif isinstance(node, ast.ExceptHandler):
            if node.type is None:
                raise _fail(node, "a bare 'except:' is not allowed; name the exception types")
            if node.name and _bad_identifier(node.name):
                raise _fail(node, f"name '{node.name}' is not allowed (leading underscore)")
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Pow):
            raise _fail(node, "'**=' is not allowed; write x = x ** y")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                if _bad_identifier(name):
                    raise _fail(node, f"name '{name}' is not allowed (leading underscore)")
    if not any(isinstance(stmt, ast.FunctionDef) and stmt.name == entry for stmt in tree.body):
        shape = "def invoke(state, **args)" if entry == "invoke" else f"def {entry}(...)"
        raise SandboxError(f"policy: the handler must define '{shape}' at top level")
    guarded = _PowRewriter().visit(tree)
    assert isinstance(guarded, ast.Module)
    return ast.fix_missing_locations(guarded)
