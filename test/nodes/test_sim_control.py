"""Simulation control over DDS: pause, step exactly N control steps while paused, resume; /clock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import CONFIG_DIR
from rclpy.node import Node
from rclpy.task import Future
from rosgraph_msgs.msg import Clock
from std_srvs.srv import Trigger

from marl_bridge.cli.team import run_team
from marl_bridge.config import load, with_overrides
from marl_bridge.msg import StepResult
from marl_bridge.nodes.topics import STREAM_QOS
from marl_bridge.srv import Step

pytestmark = pytest.mark.ros
GRANTED = 5


class Controller(Node):
    """Pauses after the first step result, grants GRANTED steps, checks the team holds, resumes.

    Every call is asynchronous and chained from the previous response: nothing blocks a callback.
    """

    def __init__(self, team: str) -> None:
        super().__init__("sim_controller")
        self.pause = self.create_client(Trigger, f"/{team}/pause")
        self.resume = self.create_client(Trigger, f"/{team}/resume")
        self.step = self.create_client(Step, f"/{team}/step")
        self.steps: list[int] = []  # step index of every result seen
        self.clock: list[float] = []
        self.phase = "running"
        self.paused_at = -1  # step index of the last result before the granted steps
        self.held_reply = ""
        self.resumed = False
        self.last_step = -1  # set after the run: the episode's final step index
        self.done = Future()
        self.create_subscription(StepResult, f"/{team}/robot_0/step_result", self._on_result, STREAM_QOS)
        self.create_subscription(Clock, "/clock", lambda m: self.clock.append(m.clock.sec + m.clock.nanosec * 1e-9),
                                 10)

    def expect(self, card: dict) -> Future:
        """Done once resumed and the run's last step result arrived."""
        self.last_step = card["episodes"][0]["steps"] - 1
        self._check_done()
        return self.done

    def _check_done(self) -> None:
        if self.resumed and self.steps and self.steps[-1] == self.last_step and not self.done.done():
            self.done.set_result(True)

    def _on_result(self, msg: StepResult) -> None:
        self.steps.append(msg.step)
        self._check_done()
        if self.phase == "running" and self.pause.service_is_ready() and self.step.service_is_ready():
            self.phase = "pausing"
            self.pause.call_async(Trigger.Request()).add_done_callback(self._paused)
        elif self.phase == "stepping" and msg.step == self.paused_at + GRANTED:
            self.phase = "checking"  # the granted steps are done: the team must now be holding
            self.pause.call_async(Trigger.Request()).add_done_callback(self._checked)

    def _paused(self, _f: Future) -> None:
        # the step in flight completes after the pause; ask for steps once it has (held)
        self.pause.call_async(Trigger.Request()).add_done_callback(self._held)

    def _held(self, f: Future) -> None:
        if not f.result().message.startswith("paused at step"):
            self.pause.call_async(Trigger.Request()).add_done_callback(self._held)  # not held yet: ask again
            return
        self.paused_at = self.steps[-1]
        self.phase = "stepping"
        self.step.call_async(Step.Request(steps=GRANTED))

    def _checked(self, f: Future) -> None:
        self.held_reply = f.result().message
        self.phase = "resumed"
        self.resume.call_async(Trigger.Request()).add_done_callback(self._resumed)

    def _resumed(self, _f: Future) -> None:
        self.resumed = True
        self._check_done()


def test_pause_step_n_resume_and_clock(tmp_path: Path) -> None:
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=9)
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={
        "n_robots": 2, "capture_robots": 2, "max_steps": 60, "control_period_s": 0.05, "substeps": 10}))
    controllers: list[Controller] = []

    def extra(_supervisor: object) -> list[Controller]:
        controllers.append(Controller(cfg.supervisor.team))
        return controllers

    card = run_team(cfg, tmp_path, extra_nodes=extra, drain=lambda c: controllers[0].expect(c))
    c = controllers[0]
    assert card["status"] == "complete"
    assert c.phase == "resumed", f"controller stopped in phase {c.phase}"
    # held exactly after the granted steps (the supervisor's step index is the next step's)
    assert c.held_reply == f"paused at step {c.paused_at + GRANTED + 1}"
    steps = card["episodes"][0]["steps"]
    # nothing lost or repeated across pause, step and resume (a late-matched listener may miss the start)
    assert c.steps == list(range(c.steps[0], steps)) and c.steps[0] <= 1
    assert c.clock == pytest.approx([0.05 * i for i in range(steps + 1)][-len(c.clock):])
    assert c.clock[-1] == pytest.approx(steps * 0.05)
