"""A pack is a folder: read one (:func:`load_pack`), write one (:func:`write_pack`).

Layout (the same for shipped, induced and user-written packs; no host Python in a pack)::

    PACK/
      pack.toml              name, description, collections and key fields, which tools write, rules
      policy.md              optional: the policy the agent works under (its system prompt)
      tools.json             OpenAI function schemas [{"type": "function", "function": {...}}, ...]
      handlers/TOOL.py       sandboxed ``def invoke(state, **args)``, one per tool
      state/COLLECTION.json  optional (or a --db folder in the same layout): a JSON object keyed by entity key
      rules/NAME.py          optional: sandboxed ``def check(state, call) -> str | None``

``pack.toml`` keys beyond the agreed core (all optional): ``globals`` (state entries that are not
collections, read from ``state/NAME.json`` and kept whole in every slice), ``prelude`` (sandbox sources,
relative to the pack, prepended to every handler: helpers shared by the handlers), ``rule_prelude`` (the
same for every rule), ``distractors``
(entities per collection a task slice adds), ``[[searches]]`` and ``[[date_windows]]`` (see
:mod:`clawloop_synth.sim.pack_rules`). Unknown keys are an error naming the key.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.sim.domain import DomainPack, State
from clawloop_synth.sim.pack_rules import DateWindow, Search
from clawloop_synth.types import ToolSpec, Trace

__all__ = ["BUILTIN_DIR", "builtin_names", "load_pack", "pack_digest", "pack_folder", "shared_policy", "write_pack"]

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "packs"

_TOP_KEYS = {"name", "description", "writes", "link_depth", "slice_depth", "collections", "recorded_key_aliases",
             "searches", "date_windows", "globals", "distractors", "prelude", "rule_prelude"}
_COLLECTION_KEYS = {"key"}
_SEARCH_KEYS = {"tool", "collection", "match", "first", "last", "hops", "link", "fold"}
_WINDOW_KEYS = {"collection", "field", "days"}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def builtin_names() -> list[str]:
    """The packs shipped in the package (folders under ``clawloop_synth/packs``)."""
    if not BUILTIN_DIR.is_dir():
        return []
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "pack.toml").is_file())


def pack_folder(name_or_path: str | Path) -> Path:
    """The folder of a built-in pack name, or ``name_or_path`` itself when it is a pack folder."""
    text = str(name_or_path)
    path = Path(name_or_path)
    if (path / "pack.toml").is_file():
        return path
    if not isinstance(name_or_path, Path) and text in builtin_names():
        return BUILTIN_DIR / text  # a built-in name, unless a pack folder of that name is right here
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or path.is_dir():
        raise InputError("not a pack folder (no pack.toml)", file=str(path))
    known = ", ".join(builtin_names()) or "none"
    raise InputError(f"unknown domain pack '{text}' (built-in: {known}; or give a pack folder's path)")


def pack_digest(name_or_path: str | Path) -> str:
    """A hash of every file of the pack folder (its state included), so a stage re-runs when the pack changes."""
    folder = pack_folder(name_or_path)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------------- reading


def _typed(value: Any, kind: type | tuple[type, ...], file: Path, key: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"must be a {names}", file=str(file), field=key)
    return value


def _strings(value: Any, file: Path, key: str) -> list[str]:
    items = _typed(value, list, file, key)
    for index, item in enumerate(items):
        _typed(item, str, file, f"{key}[{index}]")
    return list(items)


def _str_map(value: Any, file: Path, key: str, kind: type = str) -> dict[str, Any]:
    table = _typed(value, dict, file, key)
    for name, item in table.items():
        _typed(item, kind, file, f"{key}.{name}")
    return dict(table)


def _no_unknown(table: Mapping[str, Any], allowed: set[str], file: Path, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"unknown key '{unknown[0]}' (known: {', '.join(sorted(allowed))})", file=str(file),
                         field=f"{where}{unknown[0]}")


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("missing pack.toml", file=str(file)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", file=str(file)) from None


def _searches(raw: Any, file: Path) -> tuple[Search, ...]:
    out = []
    for index, item in enumerate(_typed(raw, list, file, "searches")):
        where = f"searches[{index}]"
        _typed(item, dict, file, where)
        _no_unknown(item, _SEARCH_KEYS, file, f"{where}.")
        for need in ("tool", "collection"):
            if need not in item:
                raise InputError("missing", file=str(file), field=f"{where}.{need}")
        out.append(Search(
            tool=_typed(item["tool"], str, file, f"{where}.tool"),
            collection=_typed(item["collection"], str, file, f"{where}.collection"),
            match=_str_map(item.get("match", {}), file, f"{where}.match"),
            first=_str_map(item.get("first", {}), file, f"{where}.first"),
            last=_str_map(item.get("last", {}), file, f"{where}.last"),
            hops=_typed(item.get("hops", 1), int, file, f"{where}.hops"),
            link=_str_map(item.get("link", {}), file, f"{where}.link"),
            fold=_typed(item.get("fold", False), bool, file, f"{where}.fold"),
        ))
    return tuple(out)


def _windows(raw: Any, file: Path) -> tuple[DateWindow, ...]:
    out = []
    for index, item in enumerate(_typed(raw, list, file, "date_windows")):
        where = f"date_windows[{index}]"
        _typed(item, dict, file, where)
        _no_unknown(item, _WINDOW_KEYS, file, f"{where}.")
        for need in ("collection", "field"):
            if need not in item:
                raise InputError("missing", file=str(file), field=f"{where}.{need}")
        out.append(DateWindow(collection=_typed(item["collection"], str, file, f"{where}.collection"),
                              field=_typed(item["field"], str, file, f"{where}.field"),
                              days=_typed(item.get("days", 1), int, file, f"{where}.days")))
    return tuple(out)


def _tool_entries(file: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("missing tools.json", file=str(file)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON: {exc}", file=str(file)) from None
    if not isinstance(data, list):
        raise InputError("must be a list of OpenAI tool schemas", file=str(file))
    out = []
    for index, entry in enumerate(data):
        record = f"tool {index}"
        function = entry.get("function") if isinstance(entry, dict) else None
        if not isinstance(function, dict):
            raise InputError('expected {"type": "function", "function": {...}}', file=str(file), record=record)
        name = function.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError("a tool needs a name of letters, digits, '_', '-' or '.'", file=str(file),
                             record=record, field="function.name")
        if not isinstance(function.get("description", ""), str):
            raise InputError("must be a string", file=str(file), record=name, field="function.description")
        if not isinstance(function.get("parameters", {}), dict):
            raise InputError("must be a JSON object", file=str(file), record=name, field="function.parameters")
        out.append(function)
    names = [f["name"] for f in out]
    twice = sorted(n for n, c in Counter(names).items() if c > 1)
    if twice:
        raise InputError(f"tool '{twice[0]}' is listed twice", file=str(file))
    return out


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("missing file", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc}", file=str(path)) from None


def load_pack(name_or_path: str | Path, db: Path | None = None, *, policy: str | None = None) -> DomainPack:
    """Read a pack folder (or a built-in pack by name) into a :class:`DomainPack`.

    ``db`` is a folder in the ``state/`` layout read instead of the pack's own state; ``policy``
    replaces ``policy.md`` (e.g. the system prompt the user's traces share, :func:`shared_policy`).
    Raises :class:`InputError` naming the file and field of the first problem.
    """
    folder = pack_folder(name_or_path)
    toml_file = folder / "pack.toml"
    meta = _read_toml(toml_file)
    _no_unknown(meta, _TOP_KEYS, toml_file, "")
    if "name" not in meta:
        raise InputError("missing", file=str(toml_file), field="name")
    name = _typed(meta["name"], str, toml_file, "name")
    collections_raw = _typed(meta.get("collections", {}), dict, toml_file, "collections")
    key_fields: dict[str, str] = {}
    for collection, table in collections_raw.items():
        _typed(table, dict, toml_file, f"collections.{collection}")
        _no_unknown(table, _COLLECTION_KEYS, toml_file, f"collections.{collection}.")
        key_fields[collection] = _typed(table.get("key", ""), str, toml_file, f"collections.{collection}.key")
    writes = set(_strings(meta.get("writes", []), toml_file, "writes"))
    prelude = "".join(_text(folder / rel) + "\n\n" for rel in _strings(meta.get("prelude", []), toml_file, "prelude"))
    functions = _tool_entries(folder / "tools.json")
    known = {f["name"] for f in functions}
    unknown_writes = sorted(writes - known)
    if unknown_writes:
        raise InputError(f"'{unknown_writes[0]}' is not a tool of tools.json", file=str(toml_file), field="writes")
    tools = [ToolSpec(name=f["name"], description=f.get("description", ""), parameters=f.get("parameters", {}),
                      handler=prelude + _text(folder / "handlers" / f"{f['name']}.py"), writes=f["name"] in writes)
             for f in functions]
    rules_dir = folder / "rules"
    shared = "".join(_text(folder / rel) + "\n\n"
                     for rel in _strings(meta.get("rule_prelude", []), toml_file, "rule_prelude"))
    rules = {p.stem: shared + _text(p) for p in sorted(rules_dir.glob("*.py"))} if rules_dir.is_dir() else {}
    policy_file = folder / "policy.md"
    own_state = folder / "state"
    return DomainPack(
        name=name,
        tools=tools,
        collections=tuple(collections_raw),
        db=Path(db) if db is not None else (own_state if own_state.is_dir() else None),
        searches=_searches(meta.get("searches", []), toml_file),
        date_windows=_windows(meta.get("date_windows", []), toml_file),
        link_depth=_typed(meta.get("link_depth", 2), int, toml_file, "link_depth"),
        slice_depth=_typed(meta.get("slice_depth", 1), int, toml_file, "slice_depth"),
        description=_typed(meta.get("description", ""), str, toml_file, "description"),
        recorded_key_aliases=_str_map(meta.get("recorded_key_aliases", {}), toml_file, "recorded_key_aliases"),
        key_fields=key_fields,
        globals=tuple(_strings(meta.get("globals", []), toml_file, "globals")),
        distractors=_str_map(meta.get("distractors", {}), toml_file, "distractors", int),
        policy=policy if policy is not None else (_text(policy_file).strip() if policy_file.is_file() else ""),
        rules=rules,
        folder=folder,
    )


def shared_policy(traces: Iterable[Trace]) -> str:
    """The system prompt most traces open with, when at least half of those that have one share it; else ""."""
    prompts: Counter[str] = Counter()
    for trace in traces:
        first = next((m.content for m in trace.messages if m.role == "system" and m.content), None)
        if first:
            prompts[first.strip()] += 1
    if not prompts:
        return ""
    text, count = prompts.most_common(1)[0]
    return text if count * 2 >= sum(prompts.values()) else ""


# ----------------------------------------------------------------------------------- writing


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml(pack: DomainPack) -> str:
    lines = [f"name = {_value(pack.name)}", f"description = {_value(pack.description)}",
             f"writes = {_value(sorted(pack.write_tools, key=[t.name for t in pack.tools].index))}",
             f"link_depth = {pack.link_depth}", f"slice_depth = {pack.slice_depth}"]
    if pack.globals:
        lines.append(f"globals = {_value(list(pack.globals))}")
    if pack.distractors:
        lines.append(f"distractors = {_value(pack.distractors)}")
    for collection in pack.collections:
        lines += ["", f"[collections.{_key(collection)}]", f"key = {_value(pack.key_fields.get(collection, ''))}"]
    if pack.recorded_key_aliases:
        lines += ["", "[recorded_key_aliases]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in pack.recorded_key_aliases.items()]
    for search in pack.searches:
        lines += ["", "[[searches]]", f"tool = {_value(search.tool)}", f"collection = {_value(search.collection)}"]
        for name in ("match", "first", "last", "link"):
            if getattr(search, name):
                lines.append(f"{name} = {_value(getattr(search, name))}")
        if search.hops != 1:
            lines.append(f"hops = {search.hops}")
        if search.fold:
            lines.append("fold = true")
    for window in pack.date_windows:
        lines += ["", "[[date_windows]]", f"collection = {_value(window.collection)}",
                  f"field = {_value(window.field)}", f"days = {window.days}"]
    return "\n".join(lines) + "\n"


def write_pack(pack: DomainPack, folder: Path, state: State | None = None) -> Path:
    """Write ``pack`` as a pack folder (and ``state``, when given, as ``state/NAME.json``); returns the folder.

    Handlers are written whole (a loaded pack's prelude is already part of each handler), so loading the
    folder again gives the same tools, state and behaviour. Files of an earlier pack in ``folder`` that
    this one does not have (handlers, rules, collections) are removed.
    """
    folder = Path(folder)
    for sub in ("handlers", "rules", "state"):
        for old in (folder / sub).glob("*") if (folder / sub).is_dir() else ():
            if old.is_file():
                old.unlink()
    (folder / "handlers").mkdir(parents=True, exist_ok=True)
    (folder / "pack.toml").write_text(_toml(pack), encoding="utf-8")
    policy_file = folder / "policy.md"
    if pack.policy:
        policy_file.write_text(pack.policy.rstrip() + "\n", encoding="utf-8")
    elif policy_file.exists():
        policy_file.unlink()
    tools = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                               "parameters": t.parameters}} for t in pack.tools]
    (folder / "tools.json").write_text(json.dumps(tools, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for tool in pack.tools:
        (folder / "handlers" / f"{tool.name}.py").write_text(tool.handler, encoding="utf-8")
    if pack.rules:
        (folder / "rules").mkdir(exist_ok=True)
        for rule, source in pack.rules.items():
            (folder / "rules" / f"{rule}.py").write_text(source, encoding="utf-8")
    if state is not None:
        (folder / "state").mkdir(exist_ok=True)
        for name in (*pack.collections, *pack.globals):
            if name in state:
                (folder / "state" / f"{name}.json").write_text(
                    json.dumps(state[name], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return folder
