"""Failure localization on the Who&When hand-crafted logs: who failed, and at which step.

Reads the 58 hand-crafted logs (``../shared/datasets/who-and-when/hand-crafted`` by default) with
the project's reader, mines each, and compares the offline localizer's (agent, step) with the gold
``mistake_agent`` / ``mistake_step`` beside two baselines:

- first error step: the first worker turn whose text reports an error (else the last turn);
- last step: the last turn of the log.

With ``--model`` (any litellm model string, ``--api-base`` for a local server) the LLM localizer
(prompt ``prompts/localize_failure.jinja``) runs too.

    python evals/localize_who_when.py [--data DIR] [--model MODEL] [--api-base URL]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clawloop_synth.ingest import iter_traces  # noqa: E402
from clawloop_synth.mine.context import build_context  # noqa: E402
from clawloop_synth.mine.localize import localize  # noqa: E402
from clawloop_synth.mine.miner import mine_trace  # noqa: E402
from clawloop_synth.mine.text_signals import worker_steps  # noqa: E402
from clawloop_synth.types import Trace  # noqa: E402

_ERROR = re.compile(r"\b(error|failed|unable to|could not|couldn't|cannot|not found|404)\b", re.IGNORECASE)


def _agent(trace: Trace, step: int) -> str:
    return (trace.messages[step].name or trace.messages[step].role).lower()


def first_error(trace: Trace) -> tuple[str, int]:
    step = next((i for i in worker_steps(trace) if _ERROR.search((trace.messages[i].content or "")[:600])),
                len(trace.messages) - 1)
    return _agent(trace, step), step


def last_step(trace: Trace) -> tuple[str, int]:
    return _agent(trace, len(trace.messages) - 1), len(trace.messages) - 1


def score(name: str, traces: list[Trace], predict: Callable[[Trace], tuple[str, int]]) -> None:
    agent = step = 0
    for t in traces:
        assert t.gold_failure is not None
        who, where = predict(t)
        agent += who.lower() == t.gold_failure.agent.lower()
        step += where == t.gold_failure.step
    n = len(traces)
    print(f"{name:<28} agent {agent / n:6.1%} ({agent}/{n})   step {step / n:6.1%} ({step}/{n})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "datasets" / "who-and-when" / "hand-crafted")
    parser.add_argument("--model", default=None, help="litellm model for the LLM localizer")
    parser.add_argument("--api-base", default=None)
    args = parser.parse_args()
    traces = sorted(iter_traces([args.data]), key=lambda t: t.id)
    # The miner must not see the answer key.
    blind = [t.model_copy(update={"gold_failure": None}) for t in traces]
    ctx = build_context(blind)
    ctx.fail_below = 1.0  # every Who&When log is a failed run (reward 0)
    found = {t.id: mine_trace(t, ctx) for t in blind}

    def offline(t: Trace) -> tuple[str, int]:
        where = localize(t, found[t.id])
        return (where.agent, where.step) if where else last_step(t)

    print(f"Who&When hand-crafted: {len(traces)} logs")
    score("offline localizer", traces, offline)
    score("baseline: first error step", traces, first_error)
    score("baseline: last step", traces, last_step)
    if args.model:
        from clawloop_synth.mine.llm import llm_localize

        def llm(t: Trace) -> tuple[str, int]:
            where = llm_localize(t.model_copy(update={"gold_failure": None}), args.model, api_base=args.api_base)
            return (where.agent, where.step) if where else last_step(t)

        score(f"LLM localizer ({args.model})", traces, llm)


if __name__ == "__main__":
    main()
