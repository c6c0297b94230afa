"""``clawloop-synth optimize``: compile the DSPy generation program and save it.

Metric (0..1) of one predicted draft for one cluster: 0 when it is not a valid spec; else the mean of
verification (every ``verify`` rule passes), targeting (the exemplar's mined codes include the target)
and novelty (cosine < 0.95 with every task accepted so far in this optimization). Training examples
are the generation briefs of the clusters (``train`` of them, cycling over clusters and slots).

The model's requests are counted by the seam's accountant under the stage ``optimize`` and bounded by
``max_requests``: once it is spent, the optimization stops cleanly (the scores cover the examples
evaluated, the program compiled so far is saved, the summary says ``stopped`` and has the usage).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OptimizeConfig", "draft_metric", "run_optimize"]


@dataclass
class OptimizeConfig:
    domain: str
    out: Path
    db: Path | None = None
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    optimizer: str = "bootstrap"
    train: int = 8
    max_demos: int = 2
    max_requests: int | None = None
    seed: int = 0


def draft_metric(requests: dict[str, Any], gate: Any) -> Any:
    """A DSPy metric over (example, prediction) built from the gate's checks."""
    from clawloop_synth.generate.drafts import TaskDraft, task_from_draft
    from clawloop_synth.generate.gate import mined_codes
    from clawloop_synth.sim import verify

    def metric(example: Any, prediction: Any, trace: Any = None) -> float:
        request = requests[example.cluster]
        try:
            draft = prediction.task if isinstance(prediction.task, TaskDraft) else TaskDraft.model_validate(
                prediction.task)
            task = task_from_draft(draft, request, f"opt-{example.cluster}-{example.slot}", "dspy", None, None)
        except Exception:
            return 0.0
        verified = verify(task).ok
        targeted = verified and (request.target_code in mined_codes(task))
        novel = gate.nearest(gate._vector(task))[1] < gate.threshold
        if verified and targeted and novel:
            gate.add(task)
        return (verified + targeted + novel) / 3.0

    return metric


def run_optimize(workdir: Path, config: OptimizeConfig, lm: Any = None) -> dict[str, Any]:
    """Compile the program against :func:`draft_metric`; save it to ``config.out``; return a summary."""
    import dspy

    from clawloop_synth.generate.dspy_gen import make_lm, make_program
    from clawloop_synth.generate.gate import Gate
    from clawloop_synth.generate.llm_gen import generation_messages
    from clawloop_synth.generate.stage import GenerateConfig, _load_inputs, build_requests
    from clawloop_synth.llm import BudgetExceeded, LLMConfig

    gen = GenerateConfig(domain=config.domain, db=config.db, per_cluster=1, seed=config.seed)
    requests = build_requests(gen, *_load_inputs(workdir, gen))
    by_id = {r.cluster.id: r for r in requests}
    examples = []
    for n in range(config.train):
        request = requests[n % len(requests)]
        slot = n // len(requests)
        brief = generation_messages(request, slot)[1]["content"]
        examples.append(dspy.Example(brief=brief, feedback="", cluster=request.cluster.id, slot=slot)
                        .with_inputs("brief", "feedback"))
    if lm is None:
        if not config.model:
            from clawloop_synth.errors import InputError

            raise InputError("optimize needs --model (a litellm model string)", field="model")
        lm = make_lm(LLMConfig(config.model, api_base=config.api_base, api_key=config.api_key,
                               max_requests=config.max_requests), stage="optimize")
    metric = draft_metric(by_id, Gate())
    program = make_program()
    stopped: list[str] = []

    def score(prog: Any) -> float | None:
        """Mean metric over the examples, up to the budget stop (None if none was scored)."""
        scores = []
        for example in examples:
            if stopped:
                break
            try:
                scores.append(metric(example, prog(**example.inputs())))
            except BudgetExceeded as exc:
                stopped.append(str(exc))
        return sum(scores) / len(scores) if scores else None

    with dspy.context(lm=lm):
        before = score(program)
        compiled = program
        if not stopped:
            try:
                if config.optimizer == "mipro":
                    optimizer: Any = dspy.MIPROv2(metric=metric, auto="light",
                                                  max_bootstrapped_demos=config.max_demos, max_labeled_demos=0,
                                                  seed=config.seed)
                    compiled = optimizer.compile(program, trainset=examples, requires_permission_to_run=False)
                else:
                    optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=config.max_demos,
                                                      max_labeled_demos=0)
                    compiled = optimizer.compile(program, trainset=examples)
            except BudgetExceeded as exc:
                stopped.append(str(exc))
        accountant = getattr(lm, "accountant", None)
        if not stopped and accountant is not None and accountant.exceeded:  # the optimizer swallowed the stop
            stopped.append(accountant.exceeded)
        after = score(compiled)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    compiled.save(str(config.out))
    return {"optimizer": config.optimizer, "train": len(examples), "score_before": before, "score_after": after,
            "out": str(config.out), "demos": sum(len(p.demos) for p in compiled.predictors()),
            "stopped": f"budget: {stopped[0]}" if stopped else None,
            "usage": accountant.summary() if accountant is not None else None}
