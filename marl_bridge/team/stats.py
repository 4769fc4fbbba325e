"""Run statistics the run card reports: timing, per-agent latency, entropy and deadline misses.

Latencies are appended to flat arrays on the hot path; once a run has FOLD_AT steps in them they are
folded into log-spaced histograms (1% wide bins), so a long run's memory stays bounded. Percentiles are
exact until the first fold and within a bin (1%) after; the maximum and the count are always exact.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import numpy as np

from marl_bridge.team.clock import ThreadClock

LOWEST_S = 1e-7  # the first bin's lower edge
GROWTH = 1.01  # each bin 1% wider than the one before
BINS = 2400  # up to ~2.3e3 s


class Latencies:
    """A stream of durations (seconds): recent ones whole, older ones as a histogram."""

    def __init__(self) -> None:
        self.recent = array("d")
        self.counts: np.ndarray | None = None
        self.folded = 0
        self.peak = 0.0

    def __len__(self) -> int:
        return self.folded + len(self.recent)

    def append(self, value: float) -> None:  # the hot path (run.py also binds recent.append directly)
        self.recent.append(value)

    def fold(self) -> None:
        if not len(self.recent):
            return
        values = np.frombuffer(self.recent, dtype=np.float64)
        self.peak = max(self.peak, float(values.max()))
        self.counts = _histogram(values, self.counts)
        self.folded += values.size
        self.recent = array("d")

    def summary(self) -> dict[str, float] | None:
        """p50/p99/max in ms and the count; None when empty."""
        n = len(self)
        if not n:
            return None
        values = np.frombuffer(self.recent, dtype=np.float64)
        peak = max(self.peak, float(values.max()) if values.size else 0.0)
        if self.counts is None:  # never folded: exact
            p50, p99 = np.percentile(values, [50, 99])
        else:
            counts = _histogram(values, self.counts.copy())
            p50, p99 = (_quantile(counts, q) for q in (0.5, 0.99))
        return {"p50": float(p50) * 1e3, "p99": float(p99) * 1e3, "max": peak * 1e3, "n": n}


def _histogram(values: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    idx = np.floor(np.log(np.maximum(values, LOWEST_S) / LOWEST_S) / math.log(GROWTH)).astype(np.int64)
    add = np.bincount(np.clip(idx, 0, BINS - 1), minlength=BINS)
    return add if counts is None else counts + add


def _quantile(counts: np.ndarray, q: float) -> float:
    """The geometric middle of the bin holding the q-quantile."""
    cum = np.cumsum(counts)
    k = int(np.searchsorted(cum, q * (cum[-1] - 1) + 1))
    return LOWEST_S * GROWTH ** (k + 0.5)


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else seconds * 1e3


class RunStats:
    FOLD_AT = 1 << 16  # steps of latencies held whole before they are folded into histograms
    LATE_TIMES = 100

    def __init__(self, agents: list[str], started_at: float, thread: ThreadClock | None = None) -> None:
        self.started_at = started_at
        # The team thread's CPU time and run-queue wait in each step's window (observations sent -> step
        # settled): next to the window's wall time they tell a late step the thread computed through from
        # one other processes here kept it from, or one the machine itself was not running (a VM's host).
        # Measured where `thread` is given: the run gives it in real time, where a window is a deadline the
        # robots feel; in lockstep two clock reads a step would cost a trivial team a tenth of its speed.
        self.thread = thread
        self.at_open = (0.0, 0.0)
        self.window_cpu = Latencies()
        self.stepping_since = 0.0
        self.deadline_misses = dict.fromkeys(agents, 0)
        self.latency = {a: Latencies() for a in agents}  # observation -> action arrival, seconds
        self.entropy_sum = dict.fromkeys(agents, 0.0)
        self.entropy_n = dict.fromkeys(agents, 0)
        self.skipped = dict.fromkeys(agents, 0)  # observations an actor never answered (newer ones came)
        self.unauthenticated = dict.fromkeys(agents, 0)  # observations an actor dropped (bad tag, replayed)
        self.step_latencies = Latencies()
        self.steps = 0
        self.late_steps = 0  # steps with at least one deadline miss: a stall makes every agent late at once
        # the first LATE_TIMES of them: (found at on the run's clock, window wall s, thread ran s, waited s)
        self.late: list[tuple[float, float, float, float]] = []
        self.first_step_done = 0.0  # steady-state rate: from the end of the first step (warm-up excluded)
        self.last_step_done = 0.0

    def stepped(self, now: float, t0: float) -> None:
        self.step_latencies.recent.append(now - t0)
        self.steps += 1
        self.first_step_done = self.first_step_done or now
        self.last_step_done = now
        if len(self.step_latencies.recent) >= self.FOLD_AT:
            self.step_latencies.fold()
            self.window_cpu.fold()
            for lat in self.latency.values():
                lat.fold()

    def window_opened(self) -> None:
        """A step's observations went out: its window starts."""
        if self.thread is not None:
            self.at_open = self.thread()

    def window_settled(self) -> None:
        """Every agent due has its action (or its fallback): the window ends."""
        if self.thread is not None:
            self.window_cpu.recent.append(self.thread.ran() - self.at_open[0])

    def late_step(self, now: float, window_s: float) -> None:
        """A step with a deadline miss, found at `now`, `window_s` after its observations went out (the
        settlement calls this once per step). The times let a late step be matched with what else happened
        on the machine then; the thread's CPU time in the window says whether it was computing or kept off."""
        self.late_steps += 1
        if len(self.late) < self.LATE_TIMES:
            ran, waited = self.thread() if self.thread is not None else (math.nan, math.nan)
            self.late.append((now, window_s, ran - self.at_open[0], waited - self.at_open[1]))

    def entropy(self) -> dict[str, float | None]:
        """Mean nats per step, where the policy reports it."""
        return {a: (self.entropy_sum[a] / self.entropy_n[a] if self.entropy_n[a] else None) for a in self.entropy_n}

    def latency_ms(self, agent: str) -> dict[str, float] | None:
        """Observation-to-action latency of one agent's valid answers (p50/p99/max in ms)."""
        return self.latency[agent].summary()

    def timing(self, steps: int, now: float) -> dict[str, Any]:
        lat = self.step_latencies.summary() or {"p50": 0.0, "p99": 0.0}
        elapsed = max(now - (self.stepping_since or self.started_at), 1e-9)
        steady = self.last_step_done - self.first_step_done
        return {"steps": steps, "wall_s": elapsed, "steps_per_s": steps / elapsed,
                "steady_steps_per_s": (self.steps - 1) / steady if steady > 0 else 0.0,
                "step_latency_p50_ms": lat["p50"], "step_latency_p99_ms": lat["p99"],
                "steps_with_deadline_misses": self.late_steps,
                # the first 100 late steps: time.monotonic() when each was found late (CLOCK_MONOTONIC: the
                # same clock in every process of the machine, to match with other logs of the run)
                "late_steps_monotonic_s": [at for at, _w, _r, _q in self.late],
                # each of them: how long after its observations it was found late, how much of that the
                # team's thread ran (in `single` every actor's work is on it too) and how much it waited
                # for a CPU other processes of this machine had; the rest it neither ran nor waited here
                # (the machine itself not running: a VM's host; or the thread had nothing to do)
                "late_steps_window_ms": [w * 1e3 for _at, w, _r, _q in self.late],
                "late_steps_thread_cpu_ms": [_ms(r) for _at, _w, r, _q in self.late],
                "late_steps_queued_ms": [_ms(q) for _at, _w, _r, q in self.late],
                # every step's window: the team thread's CPU time from observations sent to step settled
                "window_thread_cpu_ms": self.window_cpu.summary()}
