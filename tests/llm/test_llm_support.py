"""The scripted server itself (other test folders rely on it), prompt rendering, prices, config."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import jinja2
import pytest

from clawloop_synth.llm import LLMConfig, _prompts, model_prices, prompt_version, render_prompt
from tests.fake_openai import FakeOpenAI, error, ok


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_scripts_in_order_and_serves_many_clients_at_once(fake_openai: FakeOpenAI) -> None:
    url = f"{fake_openai.base_url}/chat/completions"
    fake_openai.script(error(429), ok({"a": 1}))
    assert post(url, {"messages": []})[0] == 429
    status, body = post(url, {"messages": [{"role": "user", "content": "hi"}]})
    assert status == 200 and json.loads(body["choices"][0]["message"]["content"]) == {"a": 1}
    assert body["usage"]["prompt_tokens"] > 0

    fake_openai.delay = 0.3
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(post(url, {"messages": []})[0])) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 25 and fake_openai.count == 27
    assert fake_openai.max_in_flight >= 20  # served in parallel, not one after another


def test_server_embeddings(fake_openai: FakeOpenAI) -> None:
    status, body = post(f"{fake_openai.base_url}/embeddings", {"model": "m", "input": ["a", "b", "a"]})
    vectors = [row["embedding"] for row in body["data"]]
    assert status == 200 and len(vectors) == 3 and len(vectors[0]) == fake_openai.embedding_dim
    assert vectors[0] == vectors[2] != vectors[1]
    assert fake_openai.count == 0 and len(fake_openai.embedding_requests) == 1


def test_render_prompt_is_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hello.jinja").write_text("Cluster {{ label }}: {% for c in codes %}{{ c }} {% endfor %}\n")
    monkeypatch.setattr(_prompts, "prompts_dir", lambda: tmp_path)
    assert render_prompt("hello", label="late", codes=["a/b/c"]) == "Cluster late: a/b/c \n"
    with pytest.raises(jinja2.UndefinedError):
        render_prompt("hello", label="late")
    version = prompt_version("hello")
    (tmp_path / "hello.jinja").write_text("changed {{ label }}")
    assert len(version) == 12 and prompt_version("hello") != version


def test_prices_and_litellm_kwargs() -> None:
    assert model_prices("openai/gpt-4o-mini") == model_prices("gpt-4o-mini") is not None
    assert model_prices("hosted_vllm/my-local-model") is None
    kwargs = LLMConfig("ollama/llama3", api_base="http://127.0.0.1:11434", max_tokens=64).litellm_kwargs()
    assert kwargs["model"] == "ollama/llama3" and kwargs["api_base"].endswith("11434") and "api_key" not in kwargs
