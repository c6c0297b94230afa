"""Shortcut solves and information need of the accepted tasks of one or more work directories.

    python evals/no_shortcuts.py WORKDIR [WORKDIR2 ...]

Per work directory: accepted tasks, how many the shortcut agent (instruction only, never reads a
result) solves, the share with an information need (some write argument or required output the
instruction does not state), tasks whose structured constraints another entity also satisfies, and
the gate's rejects by reason (generate.json). Run it on a work directory made before and one after a
change to print both side by side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from clawloop_synth.agents import information_needs
from clawloop_synth.generate.constraints import constraint_problem
from clawloop_synth.generate.gate import shortcut_solves
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec


def measure(workdir: Path) -> dict[str, object]:
    tasks = list(load_records(workdir / "tasks", TaskSpec))
    solved = sum(shortcut_solves(t) for t in tasks)
    needs = sum(bool(information_needs(t)) for t in tasks)
    ambiguous = sum((constraint_problem(t) or ("",))[0] == "ambiguous" for t in tasks)
    summary = json.loads((workdir / "generate.json").read_text())
    return {"workdir": str(workdir), "accepted": len(tasks), "shortcut_solved": solved,
            "information_need_share": round(needs / len(tasks), 3) if tasks else None,
            "with_constraints": sum(bool(t.constraints) for t in tasks), "ambiguous_accepted": ambiguous,
            "rejected_by_reason": summary.get("rejected_by_reason", {})}


def main(argv: list[str]) -> None:
    rows = [measure(Path(arg)) for arg in argv]
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main(sys.argv[1:])
