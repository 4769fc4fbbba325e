"""Process-tree helpers for tests that must leave nothing running (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path


def descendants(pid: int | None = None) -> set[int]:
    """Every live process below `pid` (default: this one)."""
    root = os.getpid() if pid is None else pid
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # zombies are already gone, only not yet reaped
            parent[int(stat.parent.name)] = int(fields[1])
    out: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - out
        out |= frontier
    return out
