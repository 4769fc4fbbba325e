"""How the team core reads time: a callable returning monotonic seconds, and its thread's run and wait times."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]
monotonic: Clock = time.monotonic


class ThreadClock(Protocol):
    """One thread's times: calling it gives (seconds run, seconds waited to run); `ran()` only the first."""

    def __call__(self) -> tuple[float, float]: ...

    def ran(self) -> float: ...


class ThreadTimes:
    """How long the calling thread has run on a CPU (its CPU clock) and how long it waited on this
    machine's run queue while another thread or process had the CPU (Linux's per-thread schedstat; 0 where
    it is missing), in seconds. Time a VM's host did not run the machine is in neither (as far as the
    host reports it). The wait is read from the first thread that asks (the team's executor thread). The
    run card sets both against a deadline window's wall time (team/stats.py)."""

    PATH = "/proc/thread-self/schedstat"

    def __init__(self) -> None:
        self.fd: int | None = None
        self.readable = os.path.exists(self.PATH)

    def ran(self) -> float:
        return time.thread_time()  # precise now; schedstat's own run time lags a running thread by a tick

    def __call__(self) -> tuple[float, float]:
        if self.fd is None and self.readable:
            try:
                self.fd = os.open(self.PATH, os.O_RDONLY)
            except OSError:
                self.readable = False
        waited = int(os.pread(self.fd, 96, 0).split()[1]) * 1e-9 if self.fd is not None else 0.0
        return time.thread_time(), waited

    def __del__(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


class FakeThreadTimes:
    """ThreadTimes for tests: `ran_s` and `waited` are moved by hand."""

    def __init__(self) -> None:
        self.ran_s = self.waited = 0.0

    def __call__(self) -> tuple[float, float]:
        return self.ran_s, self.waited

    def ran(self) -> float:
        return self.ran_s


class FakeClock:
    """A clock tests move by hand, so deadlines and rate windows are exact."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
