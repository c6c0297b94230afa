"""The online path over real HTTP: the LLM writes a handler the offline search cannot, and repairs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawloop_synth.induce import induce_pack
from clawloop_synth.induce.online import OnlineConfig
from tests.fake_openai import FakeOpenAI, ok
from tests.induce.helpers import record


def interest(state: dict[str, Any], account_id: str) -> Any:
    balance = state["accounts"][account_id]["balance"]
    return {"account_id": account_id, "interest": balance * 3 // 100 + 1}


def get_account(state: dict[str, Any], account_id: str) -> Any:
    return state["accounts"][account_id]


BROKEN = "def invoke(state, account_id):\n    return {'account_id': account_id, 'interest': 0}\n"
RIGHT = ("def invoke(state, account_id):\n    balance = state['accounts'][account_id]['balance']\n"
         "    return {'account_id': account_id, 'interest': balance * 3 // 100 + 1}\n")


def _traces() -> list[Any]:
    state = {"accounts": {f"AC-{n}": {"account_id": f"AC-{n}", "balance": 100 * n + 7} for n in range(1, 9)}}
    return [record(f"t{n}", f"task{n}", state, {"interest": interest, "get_account": get_account},
                   [("get_account", {"account_id": f"AC-{n}"}), ("interest", {"account_id": f"AC-{n}"})])
            for n in range(1, 9)]


def _config(server: FakeOpenAI, tmp_path: Path) -> OnlineConfig:
    return OnlineConfig("openai/fake-model", api_base=server.base_url, api_key="sk-test",
                        cache_dir=tmp_path / "cache", rounds=2, timeout=5.0, retry_wait=0.01)


def test_llm_handler_is_repaired_from_mismatches_and_kept(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(ok({"source": BROKEN}), ok({"source": RIGHT}))
    folder = induce_pack(_traces(), tmp_path / "pack", model=_config(fake_openai, tmp_path))
    assert fake_openai.count == 2  # only the inexact tool was asked: one draft, one repair
    first = fake_openai.requests[0]["messages"][-1]["content"]
    assert "interest" in first and "AC-1" in first
    repair = fake_openai.requests[1]["messages"][-1]["content"]
    assert "gave other results than the recording" in repair and '"interest": 0' in repair
    report = json.loads((folder / "induce.json").read_text())
    assert report["tools"]["interest"]["reproduced"] == report["tools"]["interest"]["seen"] == 8
    assert report["tools"]["interest"]["kind"] == "online (LLM)"
    assert report["online"]["tools"]["interest"]["rounds"] == 2
    assert (folder / "handlers" / "interest.py").read_text() == RIGHT
    assert report["online"]["usage"]["stages"]["induce"]["calls"] == 2

    again = induce_pack(_traces(), tmp_path / "again", model=_config(fake_openai, tmp_path))
    assert fake_openai.count == 2, "the rerun was not served from the answer cache"
    assert (again / "handlers" / "interest.py").read_text() == RIGHT


def test_an_llm_handler_that_is_worse_is_not_kept(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.default = ok({"source": "import os\ndef invoke(state, account_id):\n    return 1\n"})
    folder = induce_pack(_traces(), tmp_path / "pack", model=_config(fake_openai, tmp_path))
    assert fake_openai.count == 3  # the draft and two repair rounds, all refused by the sandbox policy
    repair = fake_openai.requests[1]["messages"][-1]["content"]
    assert "does not compile" in repair and "import" in repair.lower()
    report = json.loads((folder / "induce.json").read_text())
    assert report["tools"]["interest"]["kind"] != "online (LLM)"
    assert "import" not in (folder / "handlers" / "interest.py").read_text()
