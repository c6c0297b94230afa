"""The DSPy generator ("dspy"): the LLM generator's chains with a compiled ``dspy.Module`` as the asker.

The program maps the rendered generation prompt (and, on a repair, the gate's feedback) to a
``TaskDraft`` through a typed signature; ``clawloop-synth optimize`` compiles it (few-shot demos chosen
by a metric over verification, targeting and novelty) and ``generate --program PATH`` loads it. The
``dspy.LM`` gets the seam's settings (model string, api_base, key, temperature, max_tokens, timeout,
retries; dspy's own answer cache) and counts into the seam's accountant under the generator's stage
(:mod:`clawloop_synth.llm._dspy`): every request is checked against the budget first
(``BudgetExceeded`` stops the run cleanly, as for the LLM generator) and its tokens and cost, and
dspy's cache hits, appear in ``generate.json``'s usage.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from clawloop_synth.generate.drafts import TaskDraft
from clawloop_synth.generate.llm_gen import LLMGenerator

__all__ = ["DSPyGenerator", "make_lm", "make_program"]


def make_program() -> Any:
    """A fresh (uncompiled) generation program."""
    import dspy

    class GenerateTask(dspy.Signature):
        """Write one verifiable tool-use training task that targets the failure mode in the brief."""

        brief: str = dspy.InputField(desc="cluster, tools, state shape, entities and the contract")
        feedback: str = dspy.InputField(desc="why the simulator rejected the previous attempt (empty at first)")
        task: TaskDraft = dspy.OutputField()

    class TaskProgram(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generate = dspy.Predict(GenerateTask)

        def forward(self, brief: str, feedback: str = "") -> Any:
            return self.generate(brief=brief, feedback=feedback)

    return TaskProgram()


def make_lm(config: Any, llm: Any = None, stage: str = "generate") -> Any:
    """``dspy.LM`` with the seam's settings, counted by ``llm``'s accountant (its budget, its usage) under
    ``stage``; without ``llm``, by an accountant of its own with ``config``'s budget."""
    from clawloop_synth.llm._dspy import dspy_lm

    return dspy_lm(config, llm=llm, stage=stage)


class DSPyGenerator(LLMGenerator):
    name = "dspy"

    def __init__(self, llm: Any, program: Path | None = None, max_repairs: int = 2, lm: Any = None) -> None:
        super().__init__(llm, max_repairs=max_repairs)
        self.program = make_program()
        if program is not None:
            self.program.load(str(program))
        self.lm = lm if lm is not None else make_lm(llm.config, llm=llm, stage=self.stage)

    def prompt_version(self) -> str:
        return "dspy:" + super().prompt_version()

    def predict(self, brief: str, feedback: str) -> TaskDraft:
        import dspy

        counted = hasattr(self.lm, "calls_in_thread")  # the seam-counted LM (not a test's DummyLM)
        calls = self.lm.calls_in_thread() if counted else 0
        try:
            with dspy.context(lm=self.lm):
                draft = self.program(brief=brief, feedback=feedback).task
        finally:
            if counted:  # the adapter's second call (its JSON fallback after a parse failure) is a re-ask
                self.lm.count_reasks(self.lm.calls_in_thread() - calls - 1)
        return draft if isinstance(draft, TaskDraft) else TaskDraft.model_validate(draft)

    async def ask(self, messages: list[dict[str, Any]], slot: int) -> TaskDraft:
        from dspy.utils.exceptions import AdapterParseError, LMError
        from pydantic import ValidationError

        from clawloop_synth.llm import LLMError, StructuredOutputError

        if getattr(getattr(self.llm, "config", None), "redact", True):  # as the seam does for its own calls
            from clawloop_synth.redact import redact_messages_with_counts

            messages, counts = redact_messages_with_counts(messages)
            if counts and hasattr(self.lm, "count_redacted"):  # per kind, in the stage's usage
                self.lm.count_redacted(counts)
        brief = messages[1]["content"]
        feedback = "\n".join(m["content"] for m in messages[3::2] if m["role"] == "user")
        try:
            return await asyncio.to_thread(self.predict, brief, feedback)
        except (ValidationError, ValueError, AdapterParseError) as exc:  # an answer that is not a draft
            raise StructuredOutputError(str(exc)) from exc
        except LMError as exc:  # transport failure after dspy's retries (BudgetExceeded passes as is)
            raise LLMError(str(exc)) from exc
