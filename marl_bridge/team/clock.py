"""The only way the team core reads time: a callable returning monotonic seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
monotonic: Clock = time.monotonic
# CPU seconds the calling thread has run (time a host or another process kept it off the CPU does not
# count): the run card compares it with a deadline window's wall time (team/stats.py)
thread_cpu: Clock = time.thread_time


class FakeClock:
    """A clock tests move by hand, so deadlines and rate windows are exact."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
