"""`clawloop-synth run`: every stage built so far, on the embedded default, offline."""
