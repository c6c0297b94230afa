"""The ``report`` stage: WORKDIR -> WORKDIR/report/index.html (one self-contained page) and report.json.

The page holds every figure inline (PNG data URIs) and one small script, so it opens from disk in
any browser with no server and no network. Sections follow the data flow; a stage that has not
run leaves its section saying so, and the evaluate and experiment sections appear only once those
summaries exist.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.workdir import write_json

__all__ = ["SECTIONS", "run_report"]

SECTIONS = [("input", "Input"), ("failures", "Failures"), ("clusters", "Clusters"), ("tasks", "Tasks"),
            ("coverage", "Coverage"), ("difficulty", "Difficulty"), ("curriculum", "Curriculum")]
_OPTIONAL = [("evaluate", "Evaluation"), ("experiments", "Experiments")]


def run_report(workdir: Path) -> dict[str, Any]:
    """Write ``workdir/report/index.html``; returns the ``report.json`` summary."""
    from clawloop_synth.report.gather import gather
    from clawloop_synth.report.render import render

    workdir = Path(workdir)
    if not workdir.is_dir():
        raise InputError("no such work directory", file=str(workdir))
    started = time.perf_counter()
    data = gather(workdir)
    sections = SECTIONS + [(key, title) for key, title in _OPTIONAL if data.get(key)]
    html = render(data, sections)
    out = workdir / "report" / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    summary = {"stage": "report", "path": str(out), "bytes": len(html.encode("utf-8")),
               "sections": [key for key, _ in sections],
               "empty_sections": [key for key, _ in SECTIONS if not data.get(key)],
               "stages": data["stages"], "seconds": round(time.perf_counter() - started, 2)}
    write_json(workdir / "report.json", summary)
    return summary
