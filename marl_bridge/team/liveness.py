"""Which actors are lost: silent K steps in a row, or gone from the graph; and when they rejoined."""

from __future__ import annotations

from typing import Any


class Liveness:
    """A lost actor is not waited for (its fallback answers at once). It rejoins only by answering the
    step in flight: an answer to an earlier step (it is catching up) makes it a candidate, and the next
    step waits for it again up to the deadline. Gaps (lost -> rejoined, by episode and step) go on the
    run card."""

    def __init__(self, agents: list[str], lost_after_steps: int) -> None:
        self.lost_after_steps = lost_after_steps
        self.lost: dict[str, str] = {}  # agent -> why
        self.candidates: set[str] = set()  # lost agents that answered an earlier step: waited for next step
        self.streak = dict.fromkeys(agents, 0)
        self.gaps: dict[str, list[dict[str, Any]]] = {a: [] for a in agents}

    def answered(self, agent: str) -> None:
        self.streak[agent] = 0

    def missed(self, agent: str) -> str | None:
        """Count a deadline miss; the reason when it makes the agent lost now."""
        self.streak[agent] += 1
        if self.lost_after_steps and self.streak[agent] >= self.lost_after_steps and agent not in self.lost:
            return f"no action for {self.streak[agent]} consecutive steps"
        return None

    def lose(self, agent: str, why: str, episode: int, step: int) -> bool:
        if agent in self.lost:
            return False
        self.lost[agent] = why
        self.gaps[agent].append({"lost": {"episode": episode, "step": step, "why": why}, "rejoined": None})
        return True

    def waits_for(self, agent: str) -> bool:
        """Is `agent` waited for at the step being opened? (Uses up its candidacy.)"""
        if agent not in self.lost:
            return True
        if agent in self.candidates:
            self.candidates.discard(agent)
            return True
        return False

    def rejoin(self, agent: str, episode: int, step: int) -> str:
        self.candidates.discard(agent)
        why = self.lost.pop(agent)
        self.streak[agent] = 0
        self.gaps[agent][-1]["rejoined"] = {"episode": episode, "step": step}
        return why

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {a: g for a, g in self.gaps.items() if g}
