"""`run`'s effective configuration: each stage's defaults < the ``--config`` file < the command line.

The file is TOML. Its top-level keys are ``run``'s own options (``workdir``, ``input``, ``pack``,
``db``, ``seed`` and the common ones below); a table per stage command (``[ingest]``, ``[mine]``,
``[induce]``, ``[cluster]``, ``[generate]``, ``[coverage]``, ``[rollout]``, ``[difficulty]``,
``[curriculum]``, ``[export]``) takes that command's options under their long names (``per-cluster``
or ``per_cluster``), except those ``run`` sets itself (``pipeline.RUN_SETS``). A common top-level key
(``model``, ``embedder``, ...) fills the stages listed in :data:`COMMON`; a stage's table beats it,
and the same flag on the command line beats both. Every value is parsed by the stage command's own
parser, so a file is checked exactly as the command line would be.

The stage options are read off the stage commands themselves, so a new option of a command is a
new key of its table (and ``pipeline.run_pipeline`` must pass it on: an option it does not take
is a TypeError, which ``tests/test_run_config.py`` catches).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import typer.main

from clawloop_synth.errors import InputError
from clawloop_synth.pipeline import RUN_DEFAULTS, RUN_SETS, STAGE_COMMANDS

__all__ = ["COMMON", "Effective", "effective_config", "table_keys", "to_toml"]

# A common option of `run` (its parameter name) -> the (stage, parameter) pairs it fills.
COMMON: dict[str, list[tuple[str, str]]] = {
    "generator": [("generate", "generator")],
    "model": [("generate", "model"), ("rollout", "model")],  # the LLM generator, and a bare 'llm' agent
    "api_base": [("generate", "api_base"), ("rollout", "api_base")],
    "max_cost": [("generate", "max_cost")],
    "embedder": [("cluster", "embedder"), ("coverage", "embedder")],
    "on_error": [("ingest", "on_error")],
    "rewards": [("ingest", "rewards")],
    "per_cluster": [("generate", "per_cluster")],
    "allocation": [("generate", "allocation")],
    "policy_from_traces": [("generate", "policy_from_traces")],
    "seed": [(stage, "seed") for stage in ("cluster", "generate", "coverage", "rollout", "difficulty",
                                           "curriculum", "export")],
}
# run's own options that the file's top level takes besides the common ones.
_RUN_OWN = ("workdir", "inputs", "domain", "db")
# Parameters that are never configuration: how the command prints, the deprecated spellings, and where it runs
# (--engine, --address, --workers: the output is the same; run takes them itself).
_NOT_OPTIONS = frozenset({"workdir", "old_workdir", "old_inputs", "as_json", "engine", "address", "workers"})


@dataclass
class Effective:
    """The configuration a run runs with: run's own values and every stage's options (by parameter name)."""

    workdir: Path
    inputs: list[Path] | None
    domain: str | None
    db: Path | None
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)


def _commands() -> dict[str, Any]:
    from clawloop_synth.cli import app

    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _key(param: Any) -> str:
    """A parameter's name in the file: its long option without the dashes (``--per-cluster`` -> per-cluster)."""
    longs = [opt for opt in param.opts if opt.startswith("--")]
    return longs[0][2:] if longs else str(param.name)


def _options(command: Any, stage: str | None) -> dict[str, Any]:
    """The configurable parameters of ``command`` by file key (``stage``: leave out what run sets;
    None: ``run`` itself, whose work directory is configuration)."""
    owned = RUN_SETS.get(stage, {}) if stage else {}
    skip = _NOT_OPTIONS if stage else _NOT_OPTIONS - {"workdir"}
    return {_key(p): p for p in command.params
            if p.param_type_name == "option" and p.name not in skip and p.name not in owned}


def table_keys() -> dict[str, list[str]]:
    """Every table of the file and its keys (the stage commands' options run does not set)."""
    commands = _commands()
    return {STAGE_COMMANDS[stage]: list(_options(commands[STAGE_COMMANDS[stage]], stage)) for stage in STAGE_COMMANDS}


def _argv(options: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Command-line words for ``values`` (by parameter name) of the command whose options are ``options``."""
    by_name = {p.name: p for p in options.values()}
    argv: list[str] = []
    for name, value in values.items():
        param = by_name[name]
        if value is None:
            continue
        if getattr(param, "is_flag", False) and isinstance(value, bool):
            if value:
                argv.append(param.opts[0])
            elif param.secondary_opts:
                argv.append(param.secondary_opts[0])
            continue
        items = value if isinstance(value, list) and param.multiple else [value]
        for item in items:
            argv += [param.opts[0], str(item)]
    return argv


def _parse(command: Any, options: dict[str, Any], values: dict[str, Any], where: str,
           section: str | None = None) -> dict[str, Any]:
    """``values`` parsed (converted and checked) by ``command``'s own parser; every option, defaults filled.
    A bad value is an InputError naming ``where`` (the file), ``section`` (its table) and the key."""
    argv = _argv(options, values)
    for param in command.params:  # a required option run sets itself gets a stand-in (it is dropped below)
        if param.required and param.name not in values and param.param_type_name == "option":
            argv += [param.opts[0], "-"]
    try:
        ctx = command.make_context(command.name, argv)
    except typer.TyperException as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        param = getattr(exc, "param", None)
        key = _key(param) if param is not None else None
        if param is not None and param.name in values:
            message += f" (got {values[param.name]!r})"
        raise InputError(message, file=where, record=section, field=key) from None
    names = {p.name for p in options.values()}
    # A repeatable option given no value is unset (None), as the command receives it.
    return {name: (list(value) or None) if isinstance(value, list | tuple) else value
            for name, value in ctx.params.items() if name in names}


def _by_name(options: dict[str, Any], table: dict[str, Any], file: str, section: str) -> dict[str, Any]:
    """A file table's keys (dashes or underscores) as parameter names; an unknown key is an error."""
    known = {key.replace("-", "_"): param.name for key, param in options.items()}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = known.get(key.replace("-", "_"))
        if name is None or isinstance(value, dict):
            choices = ", ".join(sorted(options)) or "none"
            what = "table" if isinstance(value, dict) else "key"
            raise InputError(f"unknown {what} {key!r} in {section} (known: {choices})", file=file,
                             field=f"{section}.{key}" if section != "top level" else key)
        values[name] = value
    return values


def _common(values: dict[str, Any], stage: str) -> dict[str, Any]:
    """The options of ``stage`` that the common options among ``values`` fill."""
    return {param: value for option, value in values.items() if value is not None
            for target, param in COMMON.get(option, []) if target == stage}


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the config file: {exc.strerror}", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML: {exc}", file=str(path)) from None


def effective_config(given: dict[str, Any], config_file: Path | None) -> Effective:
    """The run's configuration from the command line's ``given`` values (run's parameter names, only
    those given) over ``config_file`` (or none) over the defaults."""
    commands = _commands()
    run_options = {key: p for key, p in _options(commands["run"], None).items()
                   if p.name in COMMON or p.name in _RUN_OWN}
    top: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {}
    where = str(config_file) if config_file else "the command line"
    if config_file is not None:
        data = _read(config_file)
        names = {STAGE_COMMANDS[stage]: stage for stage in STAGE_COMMANDS}
        plain = {key: value for key, value in data.items() if not isinstance(value, dict)}
        for key, value in data.items():
            if isinstance(value, dict):
                if key not in names:
                    raise InputError(f"unknown table [{key}] (tables: {', '.join(sorted(names))})",
                                     file=where, field=key)
                stage = names[key]
                tables[stage] = _by_name(_options(commands[key], stage), value, where, f"[{key}]")
        top = _by_name(run_options, plain, where, "top level")
        if top:
            top = {name: value for name, value in _parse(commands["run"], run_options, top, where).items()
                   if name in top}
    stages: dict[str, dict[str, Any]] = {}
    for stage, name in STAGE_COMMANDS.items():
        values = dict(RUN_DEFAULTS.get(stage, {}))
        values.update(_common(top, stage))
        values.update(tables.get(stage, {}))
        values.update(_common(given, stage))
        command = commands[name]
        stages[stage] = _parse(command, _options(command, stage), values, where, f"[{name}]")
    own = {**top, **{key: value for key, value in given.items() if value is not None}}
    return Effective(workdir=Path(own.get("workdir") or "runs/default"), inputs=own.get("inputs") or None,
                     domain=own.get("domain"), db=own.get("db"), stages=stages)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _line(key: str, value: Any) -> str:
    # TOML has no null: an unset option is written as a comment, which reads back as the default.
    return f"# {key} = (not set)" if value is None or value == [] else f"{key} = {_toml_value(value)}"


def to_toml(config: Effective) -> str:
    """The effective configuration as a ``--config`` file (reading it back gives the same run)."""
    commands = _commands()
    lines = ["# clawloop-synth run: the effective configuration (command line > --config file > defaults).",
             "# Paths are relative to the folder run is started in.",
             _line("workdir", config.workdir), _line("input", [str(p) for p in config.inputs or []]),
             _line("pack", config.domain), _line("db", config.db)]
    for stage, name in STAGE_COMMANDS.items():
        options = _options(commands[name], stage)
        values = config.stages.get(stage, {})
        lines += ["", f"[{name}]"]
        for key, param in options.items():
            lines.append(_line(key, values.get(param.name)))
    return "\n".join(lines) + "\n"
