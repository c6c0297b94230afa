"""Induction on an engine whose workers are elsewhere (``--engine ray``): the handler fits split across them.

The offline fit's cost is replaying candidate handlers on the recorded examples, tool by tool, and tools are
fitted independently within a round (:func:`~clawloop_synth.induce.fit.fit_here`). Here the driver runs the
fit's steps that replay no handler (collecting the calls, the state, the schemas and the policy) and each
round's tools go to the workers in groups; a group is fitted in its own contained child on its worker
(:mod:`.contained`: the candidates' sources embed trace text and never run in a worker or the driver
unconfined), from the traces, the state and the round's tracking settings, and sends back JSON that the
driver checks field by field as it checks the local child's. The rounds' results are the local fit's, so the
pack is the same.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from clawloop_synth.induce.contained import ContainedLimits, run_contained
from clawloop_synth.induce.examples import TraceCalls
from clawloop_synth.induce.handlers import Induced
from clawloop_synth.induce.state import Collections, track_states

__all__ = ["fit_on_engine", "fit_tools_request"]

# One group per worker: each group's child parses the traces and tracks the states again (seconds).
_GROUPS_PER_WORKER = 1


def fit_tools_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The contained child's entry: the handlers of ``payload["tools"]`` for one round, as JSON."""
    from clawloop_synth.induce.examples import collect_calls
    from clawloop_synth.induce.fit import examples_by_tool
    from clawloop_synth.induce.handlers import induce_handler
    from clawloop_synth.types import Trace

    runs = collect_calls(Trace.model_validate(item) for item in payload["traces"])
    collections, aliases = payload["collections"], payload["aliases"]
    track_states(runs, payload["state"], collections, aliases, frozenset(payload["relaxed"]))
    by_tool = examples_by_tool(runs)
    trajectories = {run.trace.id: run.calls for run in runs}
    return {tool: asdict(induce_handler(tool, by_tool[tool], collections, aliases, trajectories))
            for tool in payload["tools"]}


def _fit_group(context: dict[str, Any], tools: list[str]) -> Any:
    """On a worker: one group's fit, in a contained child."""
    limits = ContainedLimits(**context["limits"])
    return run_contained(f"{__name__}:fit_tools_request", {**context["round"], "tools": tools}, limits)


def _groups(sizes: dict[str, int], count: int) -> list[list[str]]:
    """Tools in ``count`` groups of about equal examples (largest first onto the lightest group), each in tool
    order; empty groups dropped."""
    groups: list[list[str]] = [[] for _ in range(max(1, count))]
    loads = [0] * len(groups)
    for tool in sorted(sizes, key=lambda t: (-sizes[t], t)):
        lightest = loads.index(min(loads))
        groups[lightest].append(tool)
        loads[lightest] += sizes[tool]
    return [sorted(group) for group in groups if group]


class _EngineRound:
    """A :data:`~clawloop_synth.induce.fit.FitRound` whose tools are fitted on ``engine``'s workers."""

    def __init__(self, engine: Any, traces: list[Any], limits: ContainedLimits) -> None:
        self.engine = engine
        self.traces = traces
        self.limits = limits

    def __call__(self, runs: list[TraceCalls], state: dict[str, Any], collections: Collections,
                 aliases: dict[str, str], relaxed: frozenset[str]) -> dict[str, Induced]:
        from clawloop_synth.induce.fit import examples_by_tool, induced_from_json, malformed

        # The examples' states are tracked in each group's child (nothing in the driver reads them).
        sizes = {tool: len(examples) for tool, examples in examples_by_tool(runs).items()}
        groups = _groups(sizes, _GROUPS_PER_WORKER * self.engine.workers())
        context = {"limits": asdict(self.limits),
                   "round": {"traces": self.traces, "state": state, "collections": collections, "aliases": aliases,
                             "relaxed": sorted(relaxed)}}
        fitted: dict[str, Induced] = {}
        for group, answer in zip(groups, self.engine.map_ordered(_fit_group, groups, context=context), strict=True):
            if not isinstance(answer, dict) or sorted(answer) != group:
                raise malformed("the tools of a group")
            fitted.update({tool: induced_from_json(tool, answer[tool]) for tool in group})
        return {tool: fitted[tool] for tool in sorted(fitted)}


def fit_on_engine(request: dict[str, Any], engine: Any, limits: ContainedLimits) -> dict[str, Any]:
    """The offline fit of ``request`` (traces, db, name) with each round's tools on ``engine``; the same JSON
    answer as the local contained child's."""
    from clawloop_synth.induce.fit import fit_request

    return fit_request(request, _EngineRound(engine, request["traces"], limits))
