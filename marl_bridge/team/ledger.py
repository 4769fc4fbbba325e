"""Every finished episode, counted in bounded memory: per-agent tallies and totals over the whole run,
and the last few records whole (what the run card lists; the rest went to episodes.jsonl as they ended).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from marl_bridge.envs.episode import EpisodeRecord


@dataclass
class AgentTally:
    """One agent over every episode it was in."""

    episodes: int = 0
    return_sum: float = 0.0
    return_min: float = float("inf")
    return_max: float = float("-inf")
    steps: int = 0  # steps (AEC: turns) it acted
    fallbacks: int = 0
    collisions: int = 0
    terminated: int = 0
    truncated: int = 0

    def to_dict(self) -> dict[str, Any]:
        n = self.episodes
        return {"episodes": n, "return_mean": self.return_sum / n if n else None,
                "return_min": self.return_min if n else None, "return_max": self.return_max if n else None,
                "length_mean": self.steps / n if n else None, "steps": self.steps, "fallbacks": self.fallbacks,
                "collisions": self.collisions, "terminated": self.terminated, "truncated": self.truncated}


class EpisodeLedger:
    def __init__(self, keep: int) -> None:
        self.kept: deque[EpisodeRecord] = deque(maxlen=keep)
        self.last: EpisodeRecord | None = None
        self.count = 0
        self.steps = 0  # joint steps (AEC: turns)
        self.agent_steps = 0
        self.fallback_steps = 0
        self.step_results = 0  # StepResult messages published (AEC: every agent, every turn)
        self.tallies: dict[str, AgentTally] = {}
        self.reports_collisions = False  # the env reports contacts (zero counts included)

    def add(self, rec: EpisodeRecord) -> None:
        self.kept.append(rec)
        self.last = rec
        self.count += 1
        self.steps += rec.steps
        self.step_results += sum(rec.results.values())
        self.reports_collisions = self.reports_collisions or bool(rec.collisions)
        for agent, ret in rec.returns.items():
            t = self.tallies.setdefault(agent, AgentTally())
            t.episodes += 1
            t.return_sum += ret
            t.return_min, t.return_max = min(t.return_min, ret), max(t.return_max, ret)
            t.steps += rec.lengths.get(agent, 0)
            t.fallbacks += rec.fallbacks.get(agent, 0)
            t.collisions += rec.collisions.get(agent, 0)
            t.terminated += bool(rec.terminated.get(agent))
            t.truncated += bool(rec.truncated.get(agent))
            self.agent_steps += rec.lengths.get(agent, 0)
            self.fallback_steps += rec.fallbacks.get(agent, 0)

    def per_agent(self, agents: list[str]) -> dict[str, dict[str, Any]]:
        return {a: self.tallies.get(a, AgentTally()).to_dict() for a in agents}

    def totals(self) -> dict[str, int]:
        return {"episodes": self.count, "steps": self.steps, "agent_steps": self.agent_steps,
                "fallback_steps": self.fallback_steps, "step_results": self.step_results,
                "episodes_in_card": len(self.kept)}
