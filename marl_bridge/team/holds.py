"""What can hold the team's next observations back: the latched e-stop, and pause with step-N grants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EStopLatch:
    """Engaged by a topic or service, released only by the release service; every engagement and
    release is kept (episode, step, seconds into the run, source) for the run card."""

    engaged: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    def engage(self, source: str, episode: int, step: int, t: float) -> bool:
        if self.engaged:
            return False
        self.engaged = True
        self.history.append({"engaged": {"episode": episode, "step": step, "source": source, "wall_s": t},
                             "released": None})
        return True

    def release(self, episode: int, step: int, t: float) -> bool:
        if not self.engaged:
            return False
        self.engaged = False
        self.history[-1]["released"] = {"episode": episode, "step": step, "wall_s": t}
        return True


@dataclass
class Grants:
    """Pause: no new step starts unless the step service granted it (`budget` steps left)."""

    paused: bool = False
    budget: int = 0

    def pause(self) -> None:
        self.paused, self.budget = True, 0

    def resume(self) -> bool:
        """Unpause; True when it was paused."""
        was, self.paused, self.budget = self.paused, False, 0
        return was

    def grant(self, steps: int) -> None:
        self.budget += steps

    def take(self) -> bool:
        """May the next step start? Uses up one grant while paused."""
        if not self.paused:
            return True
        if self.budget == 0:
            return False
        self.budget -= 1
        return True
