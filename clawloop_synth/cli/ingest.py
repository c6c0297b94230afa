"""`clawloop-synth ingest`."""
