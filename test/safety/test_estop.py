"""The latched emergency stop over DDS: engaged by topic or service, released only by its service;
while engaged the robots are stopped and the episode pauses (or ends, per config)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIG_DIR
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from marl_bridge.cli.team import run_team
from marl_bridge.config import RunConfig, load, with_overrides
from marl_bridge.msg import SafetyEvent, StepResult
from marl_bridge.nodes.topics import EVENTS_QOS, STREAM_QOS

pytestmark = pytest.mark.ros
ENGAGE_AFTER = 5  # step results seen before the e-stop is engaged


class Operator(Node):
    """Engages the e-stop by topic after ENGAGE_AFTER results, checks it is latched, then releases it."""

    def __init__(self, team: str, supervisor: Any) -> None:
        super().__init__("operator")
        self.supervisor = supervisor
        self.estop_pub = self.create_publisher(Bool, f"/{team}/estop", 10)
        self.engage = self.create_client(Trigger, f"/{team}/estop_engage")
        self.release = self.create_client(Trigger, f"/{team}/estop_release")
        self.steps: list[tuple[int, int]] = []  # (episode, step) of robot_0's results
        self.replies: list[str] = []
        self.ctrl_at_engage: float | None = None
        self.phase = "running"
        self.released = Future()
        self.create_subscription(StepResult, f"/{team}/robot_0/step_result", self._on_result, STREAM_QOS)
        self.create_subscription(SafetyEvent, f"/{team}/safety_events", self._on_event, EVENTS_QOS)

    def _on_result(self, msg: StepResult) -> None:
        self.steps.append((msg.episode, msg.step))
        if self.phase == "running" and len(self.steps) >= ENGAGE_AFTER and self.release.service_is_ready():
            self.phase = "engaging"
            self.estop_pub.publish(Bool(data=True))

    def _on_event(self, msg: SafetyEvent) -> None:
        if msg.kind == "estop_engaged" and self.phase == "engaging":
            self.phase = "engaged"
            # published after every robot's command was zeroed: read the world's actuators now
            self.ctrl_at_engage = float(np.abs(self.supervisor.run.env.body.data.ctrl).max())
            self.estop_pub.publish(Bool(data=False))  # must not release: the e-stop is latched
            self.engage.call_async(Trigger.Request()).add_done_callback(self._engaged_again)

    def _engaged_again(self, f: Future) -> None:
        self.replies.append(f.result().message)
        self.release.call_async(Trigger.Request()).add_done_callback(self._released)

    def _released(self, f: Future) -> None:
        self.replies.append(f.result().message)
        self.phase = "released"
        self.released.set_result(True)


def _config(action: str) -> RunConfig:
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=2, seed=8)
    env = dataclasses.replace(cfg.env, kwargs={"n_robots": 2, "capture_robots": 2, "capture_radius": 0.0,
                                               "max_steps": 30})
    return dataclasses.replace(cfg, env=env, safety=dataclasses.replace(cfg.safety, estop_action=action))


def _run(cfg: RunConfig, tmp_path: Path) -> tuple[dict, Operator]:
    ops: list[Operator] = []

    def extra(supervisor: Any) -> list[Operator]:
        ops.append(Operator(cfg.supervisor.team, supervisor))
        return ops

    card = run_team(cfg, tmp_path, extra_nodes=extra, drain=lambda _c: ops[0].released)
    return card, ops[0]


def test_estop_pauses_the_episode_stops_the_robots_and_stays_latched(tmp_path: Path) -> None:
    card, op = _run(_config("pause"), tmp_path)
    assert card["status"] == "complete" and op.phase == "released"
    assert op.replies == ["already engaged", "released"]  # latched: false on the topic did not release it
    assert op.ctrl_at_engage == 0.0
    (estop,) = card["estops"]
    engaged, released = estop["engaged"], estop["released"]
    assert engaged["source"] == "topic /pursuit/estop"
    assert (engaged["episode"], engaged["step"]) == (released["episode"], released["step"])  # nothing stepped
    assert [ep["steps"] for ep in card["episodes"]] == [30, 30] and not any(ep["aborted"] for ep in card["episodes"])
    assert op.steps == sorted(set(op.steps))  # no step repeated or skipped around the stop
    assert card["safety_events"]["by_agent"]["<team>"] == {"estop_engaged": 1, "estop_released": 1}


def test_estop_can_end_the_episode_instead(tmp_path: Path) -> None:
    card, op = _run(_config("end_episode"), tmp_path)
    assert card["status"] == "complete" and op.replies == ["already engaged", "released"]
    first, second = card["episodes"]
    assert first["aborted"] is True and first["steps"] < 30 and second["steps"] == 30 and not second["aborted"]
