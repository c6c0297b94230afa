"""The dataset card: the ``README.md`` the Hub reads, and the check that it matches the data.

The YAML header carries what the Hub indexes (license, task categories, tags, size category,
configs and splits) plus ``dataset_info`` with the columns in ``datasets``' own YAML form, so
:func:`check_card` can compare a card against the data it is about to be pushed with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.sim.verify import RULES

__all__ = ["CardInfo", "card_metadata", "check_card", "render_card", "size_category"]

RULE_TEXT = {
    "reference_passes": "the reference solution (its calls, then its answer) earns reward 1",
    "empty_run_fails": "no calls and an empty answer earn 0",
    "prefixes_fail": "every prefix of the reference that stops before its last state-changing call earns 0",
    "exemplar_fails": "the failure exemplar (the targeted wrong behaviour) earns 0",
    "handlers_sound": "no tool handler crashes on the reference's arguments, which satisfy the tools' schemas",
    "reference_follows_policy": "no reference call breaks one of the domain's policy rules (policy as code)",
}
FORMAT_TEXT = {
    "hf": "one row per task: the full TaskSpec (instruction, tools with JSON Schemas and sandboxed handler "
          "source, initial state, reference solution, failure exemplar, checks, provenance)",
    "sft": "one conversation per task in TRL's conversational tool-calling format (`messages` with "
           "`tool_calls`, `tools`): the reference solution run in the simulator, tool results included",
    "dpo": "one preference pair per task in TRL's conversational form with tools (`prompt`: system and user "
           "turns; `chosen`: the reference's assistant and tool turns; `rejected`: the failure exemplar's; `tools`)",
    "rl": "one prompt per task plus the TaskSpec as JSON (`task`) that the environment resets from",
    "openai": "OpenAI chat fine-tuning JSONL: `messages`, `tools`, `parallel_tool_calls`",
    "verifiers": "one row per task (the full TaskSpec, as in hf) plus `environment/`, an installable verifiers "
                 "environment module over the same tasks (tools in the sandboxed simulator, checks as the rubric)",
    "openenv": "one row per task (the full TaskSpec, as in hf) plus `environment/`, an OpenEnv environment "
               "(reset / step / state over the sandboxed simulator, served by OpenEnv's HTTP server)",
}


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


@dataclass
class CardInfo:
    """Everything the card states; built by the export stage from the work directory."""

    fmt: str
    splits: dict[str, int]
    data_files: dict[str, str]  # split -> path pattern inside the repo
    features_yaml: list[dict[str, Any]] | None  # datasets' YAML form of the columns (None for JSONL)
    json_columns: list[str]
    json_storage: str
    clusters: list[dict[str, Any]]  # id, label, codes, tasks
    domains: dict[str, int]
    codes: dict[str, int]
    generators: dict[str, int]  # "generator / model / prompt version" -> tasks
    verified: int
    skipped: list[dict[str, str]]
    sources: list[dict[str, Any]]  # path, sha256, bytes
    source_trace_ids: int
    commands: list[str]
    seed: int
    license: str = "other"
    usage: str = ""
    split_bytes: dict[str, int] = field(default_factory=dict)  # split -> Arrow bytes (datasets' num_bytes)
    completion: dict[str, Any] | None = None  # completion lengths of the reference tool loops (bound.py)
    extra_tags: list[str] = field(default_factory=list)


def card_metadata(info: CardInfo) -> dict[str, Any]:
    total = sum(info.splits.values())
    environments = ("rl", "verifiers", "openenv")
    categories = ["text-generation"] + (["reinforcement-learning"] if info.fmt in environments else [])
    meta: dict[str, Any] = {
        "license": info.license,
        "pretty_name": f"clawloop-synth tool-use tasks ({info.fmt})",
        "task_categories": categories,
        "tags": ["synthetic", "agents", "tool-use", "function-calling", "clawloop-synth", *info.extra_tags],
        "size_categories": [size_category(total)],
        "configs": [{
            "config_name": "default",
            "data_files": [{"split": name, "path": path} for name, path in info.data_files.items()],
        }],
    }
    if info.features_yaml is not None:
        # datasets reads the split list only when each entry has name, num_bytes and num_examples
        # (without num_bytes it logs that the YAML is malformed and ignores it).
        splits = [{"name": name, "num_bytes": int(info.split_bytes.get(name, 0)), "num_examples": n}
                  for name, n in info.splits.items()]
        meta["dataset_info"] = {
            "features": info.features_yaml,
            "splits": splits,
            "dataset_size": sum(s["num_bytes"] for s in splits),
        }
    return meta


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _counts(title: str, counts: dict[str, int]) -> str:
    rows = [[k, v] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return _table([title, "tasks"], rows) if rows else "_none_"


def render_card(info: CardInfo) -> str:
    """The card's text: YAML header, then what, counts, generation, verification, storage, provenance."""
    import yaml

    total = sum(info.splits.values())
    header = yaml.safe_dump(card_metadata(info), sort_keys=False, allow_unicode=True)
    cluster_rows = [[c["id"], c["label"], ", ".join(c["codes"]), c["tasks"]] for c in info.clusters]
    skipped = "".join(f"\n- `{s['id']}`: {s['reason']}" for s in info.skipped[:50])
    if len(info.skipped) > 50:
        skipped += f"\n- ... and {len(info.skipped) - 50} more (see export.json)"
    sources = _table(["file", "sha256", "bytes"], [[s["path"], f"`{s['sha256']}`", s["bytes"]] for s in info.sources])
    json_note = (
        f"Values whose type varies from row to row are stored with the `{info.json_storage}` feature "
        + ("(Arrow's JSON extension type; `datasets` returns them as Python values)" if info.json_storage == "Json()"
           else "as JSON-encoded strings: decode them with `json.loads`")
        + ": " + (", ".join(f"`{c}`" for c in info.json_columns) or "none") + "."
    )
    if info.fmt == "openai":
        json_note = "Tool-call arguments are JSON strings, as OpenAI's fine-tuning API expects."
    parts = [
        f"---\n{header}---",
        f"# clawloop-synth tool-use tasks ({info.fmt})",
        "Synthetic, simulator-verified tool-use tasks made by "
        "[clawloop-synth](https://pypi.org/project/clawloop-synth/) from agent traces, each aimed at a "
        f"failure the agents showed. This export: {FORMAT_TEXT[info.fmt]}.",
        "## What the tasks target",
        _table(["cluster", "label", "failure codes", "tasks"], cluster_rows) if cluster_rows
        else "No failure clusters were recorded for these tasks.",
        _counts("failure code", info.codes),
        "## Counts",
        _table(["split", "tasks"], [[k, v] for k, v in info.splits.items()]) + f"\n\nTotal: {total}.",
        _counts("domain", info.domains),
        f"Splits are cluster-stratified and seeded (seed {info.seed}): each target cluster's tasks spread "
        "over train/validation/test in 80/10/10 proportion.",
        "## Generation",
        _counts("generator / model", info.generators),
        "## Verification",
        "Every task was run in clawloop-synth's sandboxed simulator, where:\n"
        + "\n".join(f"- `{rule}`: {RULE_TEXT.get(rule, rule)}" for rule in RULES)
        + f"\n\nAt export, {info.verified} of {info.verified + len(info.skipped)} tasks passed every rule; "
        + ("the others are left out:" + skipped if info.skipped else "none was left out."),
        "## Storage",
        json_note,
        "## Provenance",
        f"Made from {info.source_trace_ids} source traces in these files:\n\n{sources}" if info.sources
        else f"Made from {info.source_trace_ids} source traces (the input files were not recorded).",
        "## Reproduce",
        "```bash\n" + "\n".join(info.commands) + "\n```",
    ]
    if info.completion and info.completion.get("tasks"):
        parts += ["## Completion length", completion_text(info.completion)]
    if info.usage:
        parts += ["## Use", info.usage]
    return "\n\n".join(parts) + "\n"


def completion_text(c: dict[str, Any]) -> str:
    """What the card says about the completion length a trainer's tool loop needs."""
    from clawloop_synth.export.bound import TRL_DEFAULT_MAX_COMPLETION_LENGTH

    shown = ("JSON results shown as `key: value` lines, a result that repeats an earlier one of the episode "
             "as what is new in it" if c.get("tool_result_format") == "lines"
             else "results shown as the simulator returned them")
    hidden = c.get("tasks_with_needed_values_cut", 0)
    hides = (f"; in {hidden} tasks a cut hides a value the reference sends later or must answer, so an agent "
             "reading these results cannot solve them: export with a larger `--max-tool-result-chars`") if hidden \
        else "; no cut hides a value the reference needs"
    bound = (f"{shown}, cut at {c['max_tool_result_chars']:,} characters (the cut is marked in the result; "
             f"{c.get('results_cut', 0)} of {c.get('results', 0)} results were cut{hides})"
             if c.get("max_tool_result_chars") else f"{shown}, not cut")
    within = ", ".join(f"{share:.0%} within {int(limit):,}" for limit, share in (c.get("within") or {}).items())
    return (
        "A trainer's tool loop adds every tool call, tool result and the final reply to the completion. For the "
        f"reference solution of each of the {c['tasks']} tasks, that is a median of **{c['median']:,}** and a "
        f"maximum of **{c['max']:,}** tokens per episode (90th percentile {c['p90']:,}; {within}), counted with "
        f"{c['counted_with']}, chat-template tokens not included; {bound}.\n\n"
        f"Set the trainer's `max_completion_length` (TRL 1.16's default is {TRL_DEFAULT_MAX_COMPLETION_LENGTH}) at "
        "or above the median, better the maximum: below it, episodes stop before their last call. The RL "
        "environment warns once when it finds a `max_completion_length` below the median."
    )


def _front_matter(text: str) -> dict[str, Any]:
    import yaml

    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    if end < 0:
        return {}
    loaded = yaml.safe_load(text[4:end])
    return loaded if isinstance(loaded, dict) else {}


def check_card(text: str, splits: dict[str, int], features_yaml: list[dict[str, Any]] | None) -> list[str]:
    """What in the card disagrees with the data (empty when they agree)."""
    meta = _front_matter(text)
    if not meta:
        return ["the card has no YAML header"]
    problems = []
    configs = meta.get("configs") or [{}]
    card_splits = [f.get("split") for f in (configs[0].get("data_files") or [])]
    if sorted(card_splits) != sorted(splits):
        problems.append(f"configs list splits {sorted(card_splits)}, the data has {sorted(splits)}")
    if features_yaml is not None:
        info = meta.get("dataset_info") or {}
        if json.dumps(info.get("features"), sort_keys=True) != json.dumps(features_yaml, sort_keys=True):
            card_cols = [f.get("name") for f in info.get("features") or []]
            data_cols = [f.get("name") for f in features_yaml]
            problems.append(f"the card's columns {card_cols} do not match the data's {data_cols}"
                            if card_cols != data_cols else "the card's column types do not match the data's")
        counts = {s.get("name"): s.get("num_examples") for s in info.get("splits") or []}
        if counts != splits:
            problems.append(f"the card's split sizes {counts} do not match the data's {splits}")
    return problems
