"""Recording: the run card (one JSON artifact per run) and the per-agent table."""
