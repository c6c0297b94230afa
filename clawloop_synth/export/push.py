"""Push an export to the Hugging Face Hub through ``datasets``' own ``push_to_hub``.

The card goes up first (with the RL format's ``environment.py`` and ``tools.json``), then
``push_to_hub`` uploads the data and merges its ``dataset_info`` into that card. Before anything
is sent, the card is checked against the data, so that a card left over from an export with other
columns or splits is never published. The token is ``huggingface_hub``'s usual one (``HF_TOKEN`` or
the stored login) unless one is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.export.card import check_card

__all__ = ["push_export"]

_EXTRA_FILES = ("environment.py", "tools.json")


def push_export(out: Path, repo_id: str, private: bool = False, token: str | None = None) -> dict[str, Any]:
    """Push the export in ``out`` to the dataset repository ``repo_id``; returns what was pushed."""
    from huggingface_hub import CommitOperationAdd, HfApi

    from datasets import config, load_from_disk

    out = Path(out)
    summary_file, card_file = out / "export.json", out / "README.md"
    if not summary_file.is_file() or not card_file.is_file():
        raise InputError("not an export folder (export.json or README.md is missing)", file=str(out))
    fmt = json.loads(summary_file.read_text())["format"]
    if fmt == "openai":
        raise InputError("the openai format is JSONL for OpenAI's fine-tuning API; push the hf, sft or rl format",
                         field="format")
    dataset = load_from_disk(str(out / "dataset"))
    splits = {name: len(part) for name, part in dataset.items()}
    features_yaml = next(iter(dataset.values())).features._to_yaml_list()
    problems = check_card(card_file.read_text(encoding="utf-8"), splits, features_yaml)
    if problems:
        raise InputError("the dataset card does not match the data (re-run export): " + "; ".join(problems),
                         file=str(card_file))
    api = HfApi(endpoint=config.HF_ENDPOINT, token=token)
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    files = ["README.md", *(name for name in _EXTRA_FILES if (out / name).is_file())]
    api.create_commit(
        repo_id=url.repo_id, repo_type="dataset", commit_message=f"clawloop-synth export ({fmt}): card",
        operations=[CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(out / name)) for name in files],
    )
    dataset.push_to_hub(url.repo_id, private=private, token=token,
                        commit_message=f"clawloop-synth export ({fmt}): data")
    return {"repo_id": url.repo_id, "url": str(url), "format": fmt, "splits": splits, "files": files,
            "private": private}
