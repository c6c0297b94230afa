"""``python -m clawloop_synth`` is the ``clawloop-synth`` command."""

from clawloop_synth.cli import main

main()
