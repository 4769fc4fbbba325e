"""The `marl-bridge` command line."""
