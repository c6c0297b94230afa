"""clawloop-synth: from agent traces to verifiable tool-use training tasks that target agent failures."""

__version__ = "0.1.0"
