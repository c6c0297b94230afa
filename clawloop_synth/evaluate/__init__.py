"""``evaluate``: how good a task set is as training data, for one work directory or two side by side.

:func:`evaluate_workdir` measures one; :func:`run_evaluate` writes ``evaluate.json`` (with ``--against``,
both sets) and :func:`table` prints them as one table.
"""

from clawloop_synth.evaluate.stage import evaluate_tasks, evaluate_workdir, run_evaluate, table

__all__ = ["evaluate_tasks", "evaluate_workdir", "run_evaluate", "table"]
