"""Fast DDS shared-memory files that processes killed with SIGKILL leave in /dev/shm.

Fast DDS removes a participant's segment and port files when it closes; a process killed hard cannot, and
the files stay until something cleans them. Each segment or port has a lock file (`_el` or `_sl`) that its
owner holds with flock while alive, which is how `fastdds shm clean` tells the dead from the living. The
tests that kill processes on purpose would leave about 30 files a run on a machine others share, so every
test removes the dead files that appeared while it ran, and nothing older.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable
from pathlib import Path

SHM = Path("/dev/shm")
_LOCK = re.compile(r"^(fastdds_(?:port\d{1,5}|[0-9a-z]{16}))_(?:el|sl)$")


def listing() -> set[str]:
    """The Fast DDS file names in /dev/shm now (empty where there is no /dev/shm)."""
    try:
        return {name for name in os.listdir(SHM) if name.startswith(("fastdds_", "sem.fastdds_"))}
    except FileNotFoundError:
        return set()


def _owner_alive(lock: Path) -> bool:
    try:
        with lock.open("ab") as fd:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on close
    except OSError:
        return True  # held: its owner lives (or the file is not ours to open)
    return False


def remove_dead(names: Iterable[str]) -> list[str]:
    """Remove, among `names`, the segments and ports whose lock no living process holds; return what
    was removed."""
    removed = []
    for name in sorted(names):
        match = _LOCK.match(name)
        if match is None or not (SHM / name).exists() or _owner_alive(SHM / name):
            continue
        base = match.group(1)
        for victim in (base, name, f"sem.{base}_mutex"):
            try:
                (SHM / victim).unlink()
                removed.append(victim)
            except FileNotFoundError:
                pass
    return removed
