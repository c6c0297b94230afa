"""An error seen only in one trajectory's retries does not make a branch out of a field that singles it out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawloop_synth.induce import induce
from clawloop_synth.sim.state import copy_state
from tests.induce.helpers import record, replay_exact


def pay(state: dict[str, Any], account_id: str, amount: int) -> Any:
    account = state["accounts"][account_id]
    if amount != account["bill"]:  # a rule the edit language cannot state: the message names no value
        return "Error: the amount does not match the bill"
    account["paid"] = True
    return "paid"


def accounts() -> dict[str, Any]:
    table = {f"A{n}": {"account_id": f"A{n}", "tier": "silver" if n % 2 else "bronze", "bill": 100 + 7 * n,
                       "paid": False} for n in range(24)}
    table["A0"]["tier"] = table["A23"]["tier"] = "gold"
    return {"accounts": table}


def test_retries_in_one_trajectory_count_once(tmp_path: Path) -> None:
    # Regression: three retries of one call (other amounts) counted as three distinct calls, so
    # "tier == gold" (the only gold account seen) became the condition of the error.
    base = accounts()
    traces = [record("retry", "t-retry", copy_state(base), {"pay": pay},
                     [("pay", {"account_id": "A0", "amount": 10}), ("pay", {"account_id": "A0", "amount": 20}),
                      ("pay", {"account_id": "A0", "amount": 30})])]
    for n in range(1, 23):
        traces.append(record(f"ok{n}", f"t{n}", copy_state(base), {"pay": pay},
                             [("pay", {"account_id": f"A{n}", "amount": 100 + 7 * n})]))
    (tmp_path / "accounts.json").write_text(json.dumps(base["accounts"]))
    induced = induce(traces, db=tmp_path)
    source = next(spec.handler for spec in induced.tools if spec.name == "pay")
    assert "gold" not in source
    held = [record("gold-ok", "t-gold", copy_state(base), {"pay": pay}, [("pay", {"account_id": "A23",
                                                                                  "amount": 100 + 7 * 23})])]
    exact, total, missed = replay_exact(induced.tools, held, lambda trace: copy_state(base))
    assert (exact, total) == (1, 1), missed
