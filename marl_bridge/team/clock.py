"""The only way the team core reads time: a callable returning monotonic seconds."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

Clock = Callable[[], float]
monotonic: Clock = time.monotonic
ThreadClock = Callable[[], tuple[float, float]]  # (seconds run, seconds waited to run) of one thread


class ThreadTimes:
    """How long the calling thread has run on a CPU and how long it waited on this machine's run queue
    (another thread or process had the CPU), in seconds, from Linux's per-thread schedstat. Time a VM's host
    did not run the machine is in neither. Bound to the first thread that calls it (the team's executor
    thread); without schedstat, the thread's CPU time and a wait of 0. The run card sets both against a
    deadline window's wall time (team/stats.py)."""

    PATH = "/proc/thread-self/schedstat"

    def __init__(self) -> None:
        self.fd: int | None = None
        self.readable = os.path.exists(self.PATH)

    def __call__(self) -> tuple[float, float]:
        if self.fd is None and self.readable:
            try:
                self.fd = os.open(self.PATH, os.O_RDONLY)
            except OSError:
                self.readable = False
        if self.fd is not None:
            ran, waited, _slices = os.pread(self.fd, 96, 0).split()
            return int(ran) * 1e-9, int(waited) * 1e-9
        return time.thread_time(), 0.0

    def __del__(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


class FakeThreadTimes:
    """ThreadTimes for tests: `ran` and `waited` are moved by hand."""

    def __init__(self) -> None:
        self.ran = self.waited = 0.0

    def __call__(self) -> tuple[float, float]:
        return self.ran, self.waited


class FakeClock:
    """A clock tests move by hand, so deadlines and rate windows are exact."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
