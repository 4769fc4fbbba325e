"""Safety: event kinds and counts, fallback actions, and the gate every incoming action passes."""
