"""``export``: the accepted tasks of a work directory as a dataset a trainer can read.

Layout of ``OUT`` (written through a staging folder, so a failed export leaves the old one intact):

- ``README.md``: the dataset card; ``export.json``: the summary (also copied to ``WORKDIR`` for the
  run's own export, so that a manual export never passes for the run's);
- ``.clawloop-synth-export``: the marker by which a later export knows the folder as its own;
- hf / sft / dpo / rl: ``dataset/`` (``DatasetDict.save_to_disk``) and ``data/<split>-00000-of-00001.parquet``;
- rl: also ``tools.json`` (the tools' schemas) and ``environment.py`` (the environment class for TRL);
- verifiers / openenv: also ``environment/``, an installable environment over the tasks
  (``clawloop_synth.interfaces.export_env``);
- openai: ``data/<split>.jsonl``.

``OUT`` is replaced only when it is missing, empty or marked as an earlier export: a folder that
holds the work directory or the traces it was made from, another work directory (``manifest.json``)
or files the project did not write is refused with one line, and nothing is deleted.

Every task is verified again first; one that fails (or whose reference does not earn reward 1) is
left out and listed with its reason in the summary and the card.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.export.bound import DEFAULT_MAX_TOOL_RESULT_CHARS, RESULT_FORMATS
from clawloop_synth.export.card import FORMAT_TEXT, CardInfo, check_card, render_card
from clawloop_synth.export.split import split_tasks
from clawloop_synth.interfaces.export_env import ENV_FORMATS, write_environment
from clawloop_synth.store import require_records
from clawloop_synth.types import FailureCluster, TaskSpec
from clawloop_synth.workdir import staging_dir, write_json

__all__ = ["FORMATS", "MARKER", "check_out", "export_tasks", "read_workdir"]

FORMATS = tuple(FORMAT_TEXT)
_HASH_LIMIT = 10_000  # files hashed per input folder
_TOOL_LOOP = ("sft", "openai", "rl")  # formats whose rows or environment carry the reference's tool results
MARKER = ".clawloop-synth-export"


def check_out(workdir: Path, out: Path, inputs: list[str]) -> None:
    """Refuse an output folder whose replacement would delete what the export did not write."""
    home, target = workdir.resolve(), out.resolve()

    def refuse(why: str) -> InputError:
        return InputError(f"refusing to export here: {why}; choose a new or empty folder for --out",
                          file=str(out), field="out")

    if target == home or home.is_relative_to(target):
        raise refuse(f"it holds the work directory {workdir}")
    for name in inputs:
        if Path(name).resolve().is_relative_to(target):
            raise refuse(f"it holds the traces {name} the work directory was made from")
    if not target.exists():
        return
    if not target.is_dir():
        raise refuse("it is a file")
    if (target / "manifest.json").exists():
        raise refuse("it is a work directory (it has manifest.json)")
    if any(target.iterdir()) and not (target / MARKER).is_file():
        raise refuse("it holds files clawloop-synth did not write (no earlier export's marker)")


def read_workdir(workdir: Path) -> tuple[list[TaskSpec], list[FailureCluster], dict[str, Any]]:
    """The accepted tasks, the clusters (if any) and the stage summaries (``*.json``) of ``workdir``."""
    from pydantic import ValidationError

    from clawloop_synth.store import load_records, load_shared

    folder = workdir / "tasks"
    require_records(folder, "accepted tasks", "run the generate stage first")
    try:
        tasks = load_shared(folder, TaskSpec)
        has_clusters = (workdir / "clusters" / "data").is_dir()
        clusters = list(load_records(workdir / "clusters", FailureCluster)) if has_clusters else []
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InputError(error["msg"], file=str(folder), field=".".join(map(str, error["loc"]))) from None
    summaries = {}
    for path in sorted(workdir.glob("*.json")):
        try:
            summaries[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a summary is informative only; the card says what it could not read
    return tasks, clusters, summaries


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sources(inputs: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in inputs:
        path = Path(name)
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())[:_HASH_LIMIT] \
            if path.is_dir() else []
        out += [{"path": str(f), "sha256": _sha256(f), "bytes": f.stat().st_size} for f in files]
    return out


def _verified(
    tasks: list[TaskSpec], fmt: str, tick: Callable[[], None], max_tool_result_chars: int | None = None,
    result_format: str = "json",
) -> tuple[list[TaskSpec], list[Any], list[dict[str, str]]]:
    """Tasks that pass verification (and their reference runs, for the tool-loop formats)."""
    from clawloop_synth.export.conversation import run_reference
    from clawloop_synth.sim import verify_once

    kept, runs, skipped = [], [], []
    for task in tasks:
        report = verify_once(task)  # the gate's verification of the same task, when in the same process
        tick()
        if not report.ok:
            reason = "; ".join(f"{r.rule}: {r.detail}" for r in report.failed())
            skipped.append({"id": task.id, "reason": f"fails verification ({reason})"})
            continue
        run: Any = run_reference(task, max_tool_result_chars, result_format) \
            if fmt in _TOOL_LOOP or fmt == "dpo" else None
        if run is not None and run.reward < 1.0:
            skipped.append({"id": task.id, "reason": f"reference run earned {run.reward}: {run.failed_checks}"})
            continue
        if fmt == "dpo" and task.failure_exemplar is not None:  # verify made sure the exemplar exists and fails
            run = (run, run_reference(task, max_tool_result_chars, result_format, task.failure_exemplar))
        kept.append(task)
        runs.append(run)
    return kept, runs, skipped


def _usage(fmt: str) -> str:
    if fmt == "sft":
        return ("```python\nfrom datasets import load_dataset\nfrom trl import SFTTrainer\n\n"
                "ds = load_dataset(\"REPO_ID\")\ntrainer = SFTTrainer(model=..., train_dataset=ds[\"train\"])\n```")
    if fmt == "dpo":
        return ("```python\nfrom datasets import load_dataset\nfrom trl import DPOConfig, DPOTrainer\n\n"
                "ds = load_dataset(\"REPO_ID\")  # prompt / chosen / rejected conversations and tools\n"
                "trainer = DPOTrainer(model=..., args=DPOConfig(...), train_dataset=ds[\"train\"])\n```")
    if fmt == "rl":
        return ("Install clawloop-synth (the environment runs each task's tools in its sandboxed simulator), "
                "download `environment.py` and `tools.json` from this repository, then:\n\n"
                "```python\nfrom datasets import load_dataset\nfrom trl import GRPOConfig, GRPOTrainer\n"
                "from environment import TaskEnvironment, reward_func\n\n"
                "ds = load_dataset(\"REPO_ID\")\ntrainer = GRPOTrainer(model=..., train_dataset=ds[\"train\"], "
                "reward_funcs=[reward_func],\n                      environment_factory=TaskEnvironment, "
                "args=GRPOConfig(...))\n```")
    if fmt == "verifiers":
        return ("Install clawloop-synth with its `verifiers` extra, download `environment/` from this repository, "
                "then `pip install ./environment` (or put it on `sys.path`) and:\n\n"
                "```python\nimport verifiers.v1 as vf\n\nenv = vf.load_environment(vf.resolve_env_config("
                "{\"taskset\": {\"id\": \"MODULE\"}}))  # MODULE: the package in environment/\n```")
    if fmt == "openenv":
        return ("Install clawloop-synth with its `openenv` extra, download `environment/` from this repository, "
                "then serve it (`cd environment && uvicorn server.app:app --port 8000`) and connect:\n\n"
                "```python\nfrom clawloop_synth.interfaces.openenv_env import SimAction, SimEnvClient\n\n"
                "with SimEnvClient(base_url=\"http://127.0.0.1:8000\").sync() as env:\n"
                "    result = env.reset()\n    result = env.step(SimAction(tool=..., arguments={...}))\n```")
    if fmt == "openai":
        return "Upload `data/train.jsonl` (and `data/validation.jsonl`) to OpenAI's fine-tuning API."
    return ("```python\nfrom datasets import load_dataset\nfrom clawloop_synth.export import tasks_from_dataset\n\n"
            "tasks = tasks_from_dataset(load_dataset(\"REPO_ID\")[\"train\"])  # TaskSpec objects\n```")


_ENVIRONMENT_PY = '''"""TRL environment for this export.

Use: GRPOTrainer(..., environment_factory=TaskEnvironment, reward_funcs=[reward_func]).

The tool methods are generated from tools.json beside this file; each row's task runs in
clawloop-synth's sandboxed simulator. Tool results are shown in TOOL_RESULT_FORMAT (lines: JSON as
key: value lines, a result that repeats an earlier one of the episode as what is new in it) and cut
to MAX_TOOL_RESULT_CHARS characters (the cut is marked in the result).
COMPLETION_TOKENS is the completion length the reference tool loops needed; the environment warns
once when the trainer's max_completion_length is below its median.
"""

from pathlib import Path

from clawloop_synth.export.rl import environment_from_file, reward_func

MAX_TOOL_RESULT_CHARS = {max_chars!r}
TOOL_RESULT_FORMAT = {result_format!r}
COMPLETION_TOKENS = {completion!r}

TaskEnvironment = environment_from_file(Path(__file__).with_name("tools.json"),
                                        max_tool_result_chars=MAX_TOOL_RESULT_CHARS,
                                        tool_result_format=TOOL_RESULT_FORMAT, completion=COMPLETION_TOKENS)

__all__ = ["COMPLETION_TOKENS", "MAX_TOOL_RESULT_CHARS", "TOOL_RESULT_FORMAT", "TaskEnvironment", "reward_func"]
'''


def _write(fmt: str, parts: dict[str, list[TaskSpec]], runs: dict[str, Any], tmp: Path,
           max_tool_result_chars: int | None = None, result_format: str = "lines",
           completion: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    """Write the data files; returns (the DatasetDict or None, the JSON columns)."""
    from clawloop_synth.export import formats
    from datasets import Dataset, DatasetDict

    if fmt == "openai":
        (tmp / "data").mkdir(parents=True)
        for split, tasks in parts.items():
            lines = [json.dumps(formats.openai_line(runs[t.id]), ensure_ascii=False) for t in tasks]
            (tmp / "data" / f"{split}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return None, []
    features, json_columns = formats.features(fmt)
    dataset = DatasetDict({
        split: Dataset.from_list([formats.row(fmt, task, runs.get(task.id)) for task in tasks], features=features)
        for split, tasks in parts.items()
    })
    dataset.save_to_disk(str(tmp / "dataset"))
    (tmp / "data").mkdir()
    for split, part in dataset.items():
        part.to_parquet(str(tmp / "data" / f"{split}-00000-of-00001.parquet"))
    if fmt == "rl":
        tools = {spec.name: spec.openai_schema() for task in sum(parts.values(), []) for spec in task.tools}
        (tmp / "tools.json").write_text(json.dumps(list(tools.values()), indent=2, ensure_ascii=False) + "\n")
        lengths = {k: (completion or {}).get(k) for k in ("median", "max", "counted_with")}
        (tmp / "environment.py").write_text(_ENVIRONMENT_PY.format(
            max_chars=max_tool_result_chars, result_format=result_format, completion=lengths))
    if fmt in ENV_FORMATS:
        write_environment(fmt, tmp / "environment", [task for part in parts.values() for task in part])
    return dataset, json_columns


def export_tasks(workdir: Path, fmt: str, out: Path, seed: int = 0, *, license: str = "other",
                 max_tool_result_chars: int | None = DEFAULT_MAX_TOOL_RESULT_CHARS, tool_result_format: str = "lines",
                 progress: Callable[[], None] = lambda: None, workdir_summary: bool = True) -> dict[str, Any]:
    """Export ``workdir``'s accepted tasks as ``fmt`` (hf, sft, dpo, openai, rl) into ``out``; returns the summary.

    In the tool-loop formats (sft, openai, rl) tool results are shown in ``tool_result_format``
    (``lines``: a JSON result as key: value lines, repeats as differences, see ``view``; ``json``: as
    returned) and cut to ``max_tool_result_chars`` (None or 0: never), and the summary and card state the completion
    length the reference's tool loop needs per episode (``completion_tokens``); dpo pairs show their
    results the same way.
    ``workdir_summary``: also write the summary to ``WORKDIR/export.json`` (the run's own export does;
    a manual one keeps it in ``OUT/export.json`` only).
    """
    from clawloop_synth.export.bound import completion_lengths, episode_text
    from clawloop_synth.export.rows import json_storage
    from datasets import disable_progress_bars

    disable_progress_bars()  # the CLI draws its own progress
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", field="format")
    if max_tool_result_chars is not None and max_tool_result_chars < 0:
        raise InputError("--max-tool-result-chars must be 0 (no bound) or more", field="max_tool_result_chars")
    max_tool_result_chars = max_tool_result_chars or None
    if tool_result_format not in RESULT_FORMATS:
        raise InputError(f"unknown tool result format {tool_result_format!r}; choose one of "
                         f"{', '.join(RESULT_FORMATS)}", field="tool_result_format")
    workdir, out = Path(workdir), Path(out)
    tasks, clusters, summaries = read_workdir(workdir)
    check_out(workdir, out, [str(p) for p in (summaries.get("ingest") or {}).get("inputs") or []])
    kept, runs, skipped = _verified(tasks, fmt, progress, max_tool_result_chars, tool_result_format)
    completion = None
    if fmt in _TOOL_LOOP:
        completion = completion_lengths((episode_text(r.results, r.task.reference.answer) for r in runs),
                                        max_tool_result_chars, tool_result_format)
        completion["results_cut"] = sum(r.cut for r in runs)
        completion["results"] = sum(len(r.results) for r in runs)
        # A cut that hides what the reference sends next leaves the task unsolvable for an agent reading it.
        completion["tasks_with_needed_values_cut"] = sum(r.hidden > 0 for r in runs)
    parts = {name: part for name, part in split_tasks(kept, seed).items() if part}
    run_by_id = {task.id: run for task, run in zip(kept, runs, strict=True)}
    with staging_dir(out) as tmp:
        tmp.mkdir(parents=True)
        dataset, json_columns = _write(fmt, parts, run_by_id, tmp, max_tool_result_chars, tool_result_format,
                                       completion)
        splits = {name: len(part) for name, part in parts.items()}
        pattern = "data/{}.jsonl" if fmt == "openai" else "data/{}-*"
        features_yaml = next(iter(dataset.values())).features._to_yaml_list() if dataset else None
        info = _card_info(fmt, seed, license, kept, clusters, summaries, skipped, splits, workdir, out)
        info.data_files = {name: pattern.format(name) for name in splits}
        info.features_yaml, info.json_columns, info.json_storage = features_yaml, json_columns, json_storage()
        info.split_bytes = {name: part.data.nbytes for name, part in (dataset or {}).items()}
        info.completion = completion
        card = render_card(info)
        problems = check_card(card, splits, features_yaml)
        if problems:  # a bug, not bad input: the card is made from this very data
            raise RuntimeError(f"the dataset card disagrees with the data: {problems}")
        (tmp / "README.md").write_text(card, encoding="utf-8")
        summary = {
            "format": fmt, "out": str(out), "seed": seed, "tasks": len(tasks), "exported": len(kept),
            "splits": splits, "skipped": skipped, "json_storage": info.json_storage,
            "json_columns": json_columns, "completion_tokens": completion, "files": [],
        }
        summary["files"] = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        write_json(tmp / "export.json", summary)
        (tmp / MARKER).write_text("written by clawloop-synth export; a later export may replace this folder\n")
    if workdir_summary:
        write_json(workdir / "export.json", summary)
    return summary


def _card_info(fmt: str, seed: int, license: str, kept: list[TaskSpec], clusters: list[FailureCluster],
               summaries: dict[str, Any], skipped: list[dict[str, str]], splits: dict[str, int],
               workdir: Path, out: Path) -> CardInfo:
    by_cluster = Counter(task.target_cluster for task in kept if task.target_cluster)
    known = {c.id: c for c in clusters}
    rows = [{"id": cid, "label": known[cid].label if cid in known else "(not in clusters/)",
             "codes": known[cid].codes if cid in known else [], "tasks": n} for cid, n in sorted(by_cluster.items())]
    generators: dict[str, int] = Counter(f"{t.provenance.generator} / {t.provenance.model or 'no model'}"
                                         for t in kept)
    versions: dict[str, set[str]] = {}
    for t in kept:
        key = f"{t.provenance.generator} / {t.provenance.model or 'no model'}"
        versions.setdefault(key, set()).add(t.provenance.prompt_version or "-")
    generators = {f"{key} ({len(versions[key])} prompt version(s))": n for key, n in generators.items()}
    inputs = [str(p) for p in (summaries.get("ingest") or {}).get("inputs") or []]
    commands = []
    if inputs:
        run = ["clawloop-synth", "run", "--workdir", str(workdir)] + sum((["--input", p] for p in inputs), [])
        generate_seed = (summaries.get("generate") or {}).get("seed")
        if generate_seed is not None:
            run += ["--seed", str(generate_seed)]
        commands.append(shlex.join(run))
    commands.append(shlex.join(["clawloop-synth", "export", str(workdir), "--format", fmt, "--out", str(out),
                                "--seed", str(seed)]))
    return CardInfo(
        fmt=fmt, splits=splits, data_files={}, features_yaml=None, json_columns=[], json_storage="",
        clusters=rows, domains=dict(Counter(t.domain for t in kept)),
        codes=dict(Counter(t.target_code for t in kept if t.target_code)), generators=dict(generators),
        verified=len(kept), skipped=skipped, sources=_sources(inputs),
        source_trace_ids=len({i for t in kept for i in t.provenance.source_trace_ids}),
        commands=commands, seed=seed, license=license, usage=_usage(fmt),
    )
