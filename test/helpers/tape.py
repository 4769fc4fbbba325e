"""An Outlet for tests that drive a TeamRun in-process: it keeps everything the run sent out."""

from __future__ import annotations

from array import array
from typing import Any

from marl_bridge.envs.episode import AgentResult, EpisodeRecord
from marl_bridge.safety.events import SafetyEventData
from marl_bridge.team.run import QuietOutlet


class Tape(QuietOutlet):
    """An Outlet that keeps everything."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, dict[str, array]]] = []
        self.stepped: list[tuple[int, int, list[AgentResult], dict[str, Any]]] = []
        self.events: list[SafetyEventData] = []
        self.episodes: list[EpisodeRecord] = []
        self.status = ""

    def observations(self, episode: int, step: int, encoded: dict[str, array]) -> None:
        self.sent.append((episode, step, dict(encoded)))

    def results(self, episode: int, step: int, results: list[AgentResult], actions: dict[str, Any]) -> None:
        self.stepped.append((episode, step, results, dict(actions)))

    def event(self, ev: SafetyEventData) -> None:
        self.events.append(ev)

    def episode_end(self, rec: EpisodeRecord) -> None:
        self.episodes.append(rec)

    def ended(self, status: str) -> None:
        self.status = status

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]
