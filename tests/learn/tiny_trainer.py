"""A tiny user trainer for the ``command`` learner's test: ``python tiny_trainer.py TRAIN_DIR OUT_DIR``.

It "trains" by memorizing the demonstrations in TRAIN_DIR/tasks.jsonl (instruction -> calls and answer), serves
them from a scripted OpenAI-compatible server, writes OUT_DIR/endpoint.json and serves until it is stopped.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fake_openai import Behaviour, FakeOpenAI, calls, say  # noqa: E402


def main() -> None:
    train_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    memory: dict[str, dict[str, Any]] = {}
    for line in (train_dir / "tasks.jsonl").read_text().splitlines():
        view = json.loads(line)
        memory[view["instruction"]] = view["demonstration"]
    (out_dir / "seen.json").write_text(json.dumps(sorted(memory)))

    log = (out_dir / "requests.jsonl").open("a")

    def respond(body: dict[str, Any]) -> Behaviour:
        log.write(json.dumps(body) + "\n")
        log.flush()
        messages = body.get("messages", [])
        user = next((m["content"] for m in messages if m["role"] == "user"), "")
        demo = memory.get(user)
        if demo is None:
            return say("I cannot help with that.")
        done = sum(1 for m in messages if m["role"] == "tool")
        if done < len(demo["calls"]):
            call = demo["calls"][done]
            return calls((call["name"], call["arguments"]))
        return say(demo["answer"])

    server = FakeOpenAI(respond).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    (out_dir / "endpoint.json.tmp").write_text(json.dumps({"api_base": server.base_url, "model": "openai/tiny"}))
    (out_dir / "endpoint.json.tmp").rename(out_dir / "endpoint.json")
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
