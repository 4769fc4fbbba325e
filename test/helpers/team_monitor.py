"""A listener node for tests: what actually crossed DDS, per agent."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.task import Future

from marl_bridge.msg import Observation, SafetyEvent, StepResult
from marl_bridge.nodes.topics import EVENTS_QOS, STREAM_QOS, agent_topic, team_topic


class TeamMonitor(Node):
    """Digests every observation and sums every reward each agent received, per episode."""

    def __init__(self, team: str, agents: list[str]) -> None:
        super().__init__("team_monitor")
        self.digests: dict[tuple[int, str], hashlib.blake2b] = {}
        self.returns: dict[tuple[int, str], float] = defaultdict(float)
        self.results: Counter[str] = Counter()
        self.events: list[SafetyEvent] = []
        self._expect: tuple[int, int, Future] | None = None  # (results, events, future)
        for agent in agents:
            self.create_subscription(Observation, agent_topic(team, agent, "observation"), self._on_obs,
                                     STREAM_QOS)
            self.create_subscription(StepResult, agent_topic(team, agent, "step_result"), self._on_result,
                                     STREAM_QOS)
        self.create_subscription(SafetyEvent, team_topic(team, "safety_events"), self._on_event,
                                 EVENTS_QOS)

    def expect(self, card: dict) -> Future:
        """A future done once every step result and safety event the run card counts has arrived."""
        results = sum(sum(ep["results"].values()) for ep in card["episodes"])
        events = sum(sum(c.values()) for c in card["safety_events"]["by_agent"].values())
        self._expect = (results, events, Future())
        self._check()
        return self._expect[2]

    def _check(self) -> None:
        if self._expect is not None:
            results, events, future = self._expect
            if sum(self.results.values()) >= results and len(self.events) >= events and not future.done():
                future.set_result(True)

    def _on_event(self, msg: SafetyEvent) -> None:
        self.events.append(msg)
        self._check()

    def _on_obs(self, msg: Observation) -> None:
        key = (msg.episode, msg.agent)
        if key not in self.digests:
            self.digests[key] = hashlib.blake2b(digest_size=16)
        for buffer in (msg.data, msg.data_i64, msg.data_f32, msg.data_u8):  # as the run's own digest
            self.digests[key].update(np.asarray(buffer).tobytes())

    def _on_result(self, msg: StepResult) -> None:
        self.returns[(msg.episode, msg.agent)] += msg.reward
        self.results[msg.agent] += 1
        self._check()

    def digest(self, episode: int, agent: str) -> str:
        return self.digests[(episode, agent)].hexdigest()


def run_with_monitor(cfg: Any, out: Path) -> tuple[dict, TeamMonitor]:
    """`run_team(cfg)` with a TeamMonitor beside the supervisor, drained of the run's last messages."""
    from marl_bridge.cli.team import run_team
    from marl_bridge.envs.factory import make_env

    agents = list(make_env(cfg.env).possible_agents)
    monitors: list[TeamMonitor] = []

    def extra(_supervisor: object) -> list[TeamMonitor]:
        monitors.append(TeamMonitor(cfg.supervisor.team, agents))
        return monitors

    card = run_team(cfg, out, extra_nodes=extra, drain=lambda c: monitors[0].expect(c))
    return card, monitors[0]
