"""Run statistics the run card reports: timing, per-agent latency, entropy and deadline misses."""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np


class RunStats:
    def __init__(self, agents: list[str], started_at: float) -> None:
        self.started_at = started_at
        self.stepping_since = 0.0
        self.deadline_misses = dict.fromkeys(agents, 0)
        self.latency = {a: array("d") for a in agents}  # observation -> action arrival, seconds
        self.entropy_sum = dict.fromkeys(agents, 0.0)
        self.entropy_n = dict.fromkeys(agents, 0)
        self.skipped = dict.fromkeys(agents, 0)  # observations an actor never answered (newer ones came)
        self.step_latencies = array("d")
        self.first_step_done = 0.0  # steady-state rate: from the end of the first step (warm-up excluded)
        self.last_step_done = 0.0

    def stepped(self, now: float, t0: float) -> None:
        self.step_latencies.append(now - t0)
        self.first_step_done = self.first_step_done or now
        self.last_step_done = now

    def entropy(self) -> dict[str, float | None]:
        """Mean nats per step, where the policy reports it."""
        return {a: (self.entropy_sum[a] / self.entropy_n[a] if self.entropy_n[a] else None) for a in self.entropy_n}

    def latency_ms(self, agent: str) -> dict[str, float] | None:
        """Observation-to-action latency of one agent's valid answers (p50/p99/max in ms)."""
        if not len(self.latency[agent]):
            return None
        lat = np.frombuffer(self.latency[agent], dtype=np.float64)
        return {"p50": float(np.percentile(lat, 50) * 1e3), "p99": float(np.percentile(lat, 99) * 1e3),
                "max": float(lat.max() * 1e3), "n": int(lat.size)}

    def timing(self, steps: int, now: float) -> dict[str, Any]:
        lat = np.frombuffer(self.step_latencies, dtype=np.float64) if len(self.step_latencies) else np.zeros(1)
        elapsed = max(now - (self.stepping_since or self.started_at), 1e-9)
        steady = self.last_step_done - self.first_step_done
        return {"steps": steps, "wall_s": elapsed, "steps_per_s": steps / elapsed,
                "steady_steps_per_s": (len(self.step_latencies) - 1) / steady if steady > 0 else 0.0,
                "step_latency_p50_ms": float(np.percentile(lat, 50) * 1e3),
                "step_latency_p99_ms": float(np.percentile(lat, 99) * 1e3)}
