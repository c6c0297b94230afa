"""A tiny two-tool inventory domain and work-directory builders for the export tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawloop_synth.store import save_records
from clawloop_synth.types import (
    Checks,
    FailureCluster,
    JsonAssertion,
    PlannedCall,
    Provenance,
    Solution,
    TaskSpec,
    ToolSpec,
)
from clawloop_synth.workdir import write_json

LOOKUP = '''
def invoke(state, sku):
    item = state["items"].get(sku)
    if item is None:
        return "Error: no item " + sku
    return {"sku": sku, "stock": item["stock"], "tags": item["tags"]}
'''

RESTOCK = '''
def invoke(state, sku, amount, note=None):
    item = state["items"].get(sku)
    if item is None:
        return "Error: no item " + sku
    item["stock"] += amount
    return {"sku": sku, "stock": item["stock"]}
'''


def tools() -> list[ToolSpec]:
    lookup = {"type": "object", "properties": {"sku": {"type": "string", "description": "The item code."}},
              "required": ["sku"], "additionalProperties": False}
    restock = {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "description": "The item code."},
            "amount": {"type": "integer", "minimum": 1},
            "note": {"type": "string", "enum": ["urgent", "routine"]},
        },
        "required": ["sku", "amount"],
        "additionalProperties": False,
    }
    return [
        ToolSpec(name="lookup", description="Look up an item's stock.", parameters=lookup, handler=LOOKUP),
        ToolSpec(name="restock", description="Add stock to an item.", parameters=restock, handler=RESTOCK,
                 writes=True),
    ]


def make_task(index: int, cluster: str | None = "c0") -> TaskSpec:
    """Restock item ``I<index>`` by ``index + 1``; the exemplar restocks the wrong item."""
    sku, other = f"I{index}", f"I{index + 1}"
    state: dict[str, Any] = {"items": {sku: {"stock": index, "tags": ["a", index]},
                                       other: {"stock": 0, "tags": []}}}
    amount = index + 1
    return TaskSpec(
        id=f"tiny-{index:03d}",
        domain="inventory",
        instruction=f"Add {amount} units to {sku} and tell me the new stock.",
        user_persona="A busy warehouse manager." if index % 2 else None,
        tools=tools(),
        initial_state=state,
        reference=Solution(calls=[PlannedCall(name="lookup", arguments={"sku": sku}),
                                  PlannedCall(name="restock", arguments={"sku": sku, "amount": amount,
                                                                         "note": "routine"})],
                           answer=f"{sku} now has {index + amount} units."),
        failure_exemplar=Solution(calls=[PlannedCall(name="restock", arguments={"sku": other, "amount": amount})],
                                  answer="Done."),
        checks=Checks(outcome=True, required_outputs=[str(index + amount)],
                      assertions=[JsonAssertion(expression=f"items.{sku}.stock", expected=index + amount)]),
        target_cluster=cluster,
        target_code="agent/action/wrong_argument" if cluster else None,
        provenance=Provenance(generator="procedural", seed=index, source_trace_ids=[f"t{index}"]),
    )


def make_workdir(root: Path, tasks: list[TaskSpec], clusters: list[FailureCluster] | None = None,
                 inputs: list[Path] | None = None) -> Path:
    workdir = root / "wd"
    save_records(workdir / "tasks", tasks)
    if clusters:
        save_records(workdir / "clusters", clusters)
    if inputs:
        write_json(workdir / "ingest.json", {"inputs": [str(p) for p in inputs]})
    return workdir


def cluster(cid: str, size: int) -> FailureCluster:
    return FailureCluster(id=cid, label=f"label of {cid}", codes=["agent/action/wrong_argument"], size=size,
                          member_ids=[], exemplar_ids=[])
