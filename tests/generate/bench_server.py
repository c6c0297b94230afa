"""``python -m tests.generate.bench_server --delay 0.1``: the scripted server for the generator benchmark.

Answers each generation prompt with a distinct valid demo-domain draft chosen by the prompt's cluster
(the cluster's target code picks the pool) and slot, after ``--delay`` seconds. Prints its base URL.
"""

from __future__ import annotations

import argparse
import re
import threading
from typing import Any

from tests.fake_openai import Behaviour, FakeOpenAI, ok
from tests.generate.llm_script import slot_of

CODES = ["agent/action/missing_action"] * 5 + ["agent/planning/premature_termination"] * 3 + \
        ["agent/reasoning/missing_output"] * 2
PER_CLUSTER = 20
_CLUSTER = re.compile(r"cluster (c\d+):")


def pools() -> dict[str, list[dict[str, Any]]]:
    from clawloop_synth.demo import build_demo_tasks, demo_pack
    from clawloop_synth.generate.drafts import draft_of

    out: dict[str, list[dict[str, Any]]] = {}
    for task in build_demo_tasks(500, 0):
        draft = draft_of(task, list(demo_pack().tools))
        out.setdefault(task.target_code or "", []).append(draft.model_dump(mode="json"))
    return out


def responder() -> Any:
    by_code = pools()

    def respond(body: dict[str, Any]) -> Behaviour:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        match = _CLUSTER.search(user)
        index = int(match.group(1)[1:]) if match else 0
        code = CODES[index % len(CODES)]
        rank = CODES[:index].count(code)
        pool = by_code[code]
        return ok(pool[(rank * PER_CLUSTER + slot_of(body)) % len(pool)])

    return respond


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    server = FakeOpenAI(responder(), delay=args.delay).start()
    print(server.base_url, flush=True)
    threading.Event().wait()
