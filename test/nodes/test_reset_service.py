"""The reset service: a running team restarts at a new episode with the requested seed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import CONFIG_DIR
from rclpy.node import Node
from rclpy.task import Future

from marl_bridge.cli.team import run_team
from marl_bridge.config import load, with_overrides
from marl_bridge.msg import EpisodeSummary
from marl_bridge.nodes.topics import STREAM_QOS
from marl_bridge.srv import Reset

pytestmark = pytest.mark.ros
SEED = 424242


class ResetCaller(Node):
    """After the first episode summary, asks for a reset with SEED (asynchronously, never blocking)."""

    def __init__(self) -> None:
        super().__init__("reset_caller")
        self.client = self.create_client(Reset, "/team/reset")
        self.response: Future | None = None
        self.create_subscription(EpisodeSummary, "/team/episode_summary", self._on_summary, STREAM_QOS)

    def _on_summary(self, msg: EpisodeSummary) -> None:
        if self.response is None and self.client.service_is_ready():  # else: try at the next summary
            self.response = self.client.call_async(Reset.Request(seed=SEED, use_seed=True))


def test_reset_service_starts_an_episode_with_the_requested_seed(tmp_path: Path) -> None:
    cfg = with_overrides(load(CONFIG_DIR / "point_team.yaml"), episodes=4)
    # goal_radius 0 and 200 cycles: episodes are long enough for the reset to land mid-episode.
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(
        cfg.env, kwargs={"n_agents": 2, "max_cycles": 200, "goal_radius": 0.0}))
    callers: list[ResetCaller] = []

    def extra(_supervisor: object) -> list[ResetCaller]:
        callers.append(ResetCaller())
        return callers

    card = run_team(cfg, tmp_path, extra_nodes=extra,
                    drain=lambda c: callers[0].response or Future())
    response = callers[0].response
    assert response is not None and response.done()
    assert response.result().success, response.result().message
    seeds = card["seeds"]["episode_seeds"]
    assert SEED in seeds
    reset_index = seeds.index(SEED)
    assert card["episodes"][reset_index - 1]["aborted"] is True
    assert card["episodes"][reset_index]["episode"] == response.result().episode
    assert card["status"] == "complete" and len(card["episodes"]) == 4
