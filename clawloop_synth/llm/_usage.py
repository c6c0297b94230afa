"""Token and cost accounting per stage, prices from litellm's bundled cost map, the hard budget."""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.llm._config import BudgetExceeded

__all__ = ["Accountant", "StageUsage", "model_prices"]


@dataclass
class StageUsage:
    """What one stage spent. ``requests`` counts HTTP requests sent, retries and re-asks included."""

    calls: int = 0  # structured calls asked for (cache hits included)
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0  # transport retries (429, 5xx, timeouts)
    reasks: int = 0  # answers that failed validation and were asked again
    failures: int = 0  # calls that ended in an error
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    redacted: dict[str, int] = field(default_factory=dict)  # findings replaced in prompts, per kind

    def count_redacted(self, counts: Mapping[str, int]) -> None:
        for kind, n in counts.items():
            self.redacted[kind] = self.redacted.get(kind, 0) + n


@functools.cache
def _cost_map() -> dict[str, Any]:
    # Read the JSON that ships inside litellm without importing litellm (seconds) and without the
    # network fetch litellm does at import unless LITELLM_LOCAL_MODEL_COST_MAP is set.
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "model_prices_and_context_window_backup.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


@functools.cache
def model_prices(model: str) -> tuple[float, float] | None:
    """(USD per prompt token, USD per completion token) for a litellm model string, None if unknown."""
    table = _cost_map()
    names = [model]
    if "/" in model:
        names.append(model.split("/", 1)[1])
    for name in names:
        entry = table.get(name)
        if isinstance(entry, dict) and "input_cost_per_token" in entry:
            return float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token", 0.0))
    return None


class Accountant:
    """Counts usage per stage and enforces the budget. Single event loop: no locking needed."""

    def __init__(self, model: str, max_cost: float | None, max_requests: int | None) -> None:
        self.model = model
        self.max_cost = max_cost
        self.max_requests = max_requests
        self.stages: dict[str, StageUsage] = {}
        self.exceeded: str | None = None
        self.reserved = 0.0  # USD held by requests in flight (their worst case), see reserve()
        self._prices = model_prices(model)

    @property
    def cost_known(self) -> bool:
        return self._prices is not None

    def stage(self, name: str) -> StageUsage:
        return self.stages.setdefault(name, StageUsage())

    def cost_of(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self._prices is None:
            return 0.0
        return prompt_tokens * self._prices[0] + completion_tokens * self._prices[1]

    @property
    def total(self) -> StageUsage:
        out = StageUsage()
        for usage in self.stages.values():
            for key, value in asdict(usage).items():
                if key == "redacted":
                    out.count_redacted(value)
                else:
                    setattr(out, key, getattr(out, key) + value)
        return out

    def worst_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The most a request of at most these tokens can cost (0 when the prices are unknown)."""
        return self.cost_of(prompt_tokens, completion_tokens)

    def reserve(self, stage: str, worst: float = 0.0) -> float | None:
        """Count one HTTP request about to be sent and hold ``worst`` USD for it until
        :meth:`release`, so that the spend plus what the requests in flight may still cost never
        passes ``max_cost``. Returns the amount held; None when it fits only once requests in
        flight are done (wait for a :meth:`release` and ask again); raises :class:`BudgetExceeded`
        when it can never fit (the spend only grows)."""
        total = self.total
        if self.exceeded is None:
            if self.max_requests is not None and total.requests >= self.max_requests:
                self.exceeded = f"max_requests={self.max_requests} reached"
            elif self.max_cost is not None and total.cost + worst > self.max_cost:
                self.exceeded = (f"max_cost=${self.max_cost:g} reached (spent ${total.cost:.4f}; the next "
                                 f"request may cost up to ${worst:.4f})")
        if self.exceeded is not None:
            raise BudgetExceeded(self.exceeded)
        if self.max_cost is not None and worst and total.cost + self.reserved + worst > self.max_cost:
            return None
        self.stage(stage).requests += 1
        self.reserved += worst
        return worst

    def release(self, held: float) -> None:
        """The request that held ``held`` USD is answered or failed (its real cost is recorded apart)."""
        self.reserved = max(0.0, self.reserved - held)

    def record(self, stage: str, prompt_tokens: int, completion_tokens: int) -> None:
        usage = self.stage(stage)
        usage.prompt_tokens += prompt_tokens
        usage.completion_tokens += completion_tokens
        usage.cost += self.cost_of(prompt_tokens, completion_tokens)

    def summary(self) -> dict[str, Any]:
        """JSON-able usage: per stage, total, and whether the cost figures are real."""
        return {
            "model": self.model,
            "cost_known": self.cost_known,
            "cost_note": None if self.cost_known else f"{self.model} is not in litellm's cost map: cost counted as 0",
            "budget_exceeded": self.exceeded,
            "stages": {name: asdict(usage) for name, usage in sorted(self.stages.items())},
            "total": asdict(self.total),
        }
