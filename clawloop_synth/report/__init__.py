"""The report: one self-contained HTML page per work directory (``WORKDIR/report/index.html``).

- :func:`run_report` (``stage``): gather, plot, render and write the page and ``report.json``;
- ``gather``: what each section shows, read from the work directory's datasets and summaries;
- ``conversation``, ``tasks``: failure examples as conversations, the task table's rows;
- ``plots``: matplotlib figures as embedded PNG data; ``render``: the Jinja template, escaped.
"""

from clawloop_synth.report.stage import SECTIONS, run_report

__all__ = ["SECTIONS", "run_report"]
