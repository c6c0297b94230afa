"""``python -m tests.generate.run_stage WORKDIR DELAY``: the generate stage with the templates generator
(a subprocess the SIGKILL test can kill)."""

from __future__ import annotations

import sys
from pathlib import Path

from clawloop_synth.generate.stage import GenerateConfig, run_generate
from tests.generate.helpers import TemplatesGenerator

if __name__ == "__main__":
    run_generate(Path(sys.argv[1]), GenerateConfig(domain="demo", per_cluster=4),
                 generator=TemplatesGenerator(delay=float(sys.argv[2])))
