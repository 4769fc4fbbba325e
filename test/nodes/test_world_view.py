"""The MuJoCo world presents the ROS interface of real robots: per robot odometry and the commanded twist
under the team's namespace, and a MarkerArray of the world (robots, target, arena, geofence, shield)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG_DIR
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from visualization_msgs.msg import MarkerArray

from marl_bridge.cli.team import run_team
from marl_bridge.config import load, with_overrides

pytestmark = pytest.mark.ros
QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=1000)


class Viewer(Node):
    """What RViz would subscribe to, for robot_0 and the markers."""

    def __init__(self) -> None:
        super().__init__("viewer")
        self.odom: list[Odometry] = []
        self.cmd: list[Twist] = []
        self.markers: list[MarkerArray] = []
        self.final_time: float | None = None
        self.done = Future()
        self.create_subscription(Odometry, "/pursuit/robot_0/odom", self._on_odom, QOS)
        self.create_subscription(Twist, "/pursuit/robot_0/cmd_vel", self.cmd.append, QOS)
        self.create_subscription(MarkerArray, "/pursuit/markers", self.markers.append, QOS)

    def _on_odom(self, msg: Odometry) -> None:
        self.odom.append(msg)
        self._check()

    def expect(self, card: dict[str, Any]) -> Future:
        self.final_time = card["sim_time_s"]
        self._check()
        return self.done

    def _check(self) -> None:
        if self.final_time is not None and self.odom and not self.done.done():
            stamp = self.odom[-1].header.stamp
            if abs(stamp.sec + stamp.nanosec * 1e-9 - self.final_time) < 1e-6:
                self.done.set_result(True)


def test_the_mujoco_world_publishes_odometry_commands_and_markers(tmp_path: Path) -> None:
    cfg = with_overrides(load(CONFIG_DIR / "mujoco_pursuit.yaml"), episodes=1, seed=4)
    cfg = dataclasses.replace(
        cfg, env=dataclasses.replace(cfg.env, kwargs={**cfg.env.kwargs, "n_robots": 3, "max_steps": 60,
                                                      "render_mode": None}),
        safety=dataclasses.replace(cfg.safety, shield=dataclasses.replace(
            cfg.safety.shield, max_speed_mps=0.3, geofence=(-3.0, -3.0, 3.0, 3.0))))
    viewers: list[Viewer] = []
    traces: list[Any] = []

    def extra(supervisor: Any) -> list[Node]:
        traces.append(supervisor)
        viewers.append(Viewer())
        return viewers

    card = run_team(cfg, tmp_path, extra_nodes=extra, drain=lambda c: viewers[0].expect(c))
    viewer = viewers[0]
    assert card["status"] == "complete" and viewer.done.done(), "the last step's odometry never arrived"
    # the last odometry is the robot's final pose in the run's own trajectory
    final_xy = traces[0].traces[-1]["robots"][-1][0]
    pose = viewer.odom[-1].pose.pose
    assert (pose.position.x, pose.position.y) == pytest.approx(tuple(final_xy), abs=1e-12)
    assert viewer.odom[-1].header.frame_id == "world" and viewer.odom[-1].child_frame_id == "robot_0/base_link"
    assert math.isclose(pose.orientation.z ** 2 + pose.orientation.w ** 2, 1.0)
    speeds = [math.hypot(c.linear.x, c.linear.y) for c in viewer.cmd]
    assert max(speeds) > 0 and max(speeds) <= 0.3 + 1e-6  # after the shield (float32 actions)
    spaces = {m.ns for m in viewer.markers[-1].markers}
    assert {"robots", "headings", "names", "targets", "arena", "geofence", "shield"} <= spaces
    assert sorted(m.text for m in viewer.markers[-1].markers if m.ns == "names") == ["robot_0", "robot_1", "robot_2"]
    assert sum(card["interventions"]["robot_0"].values()) > 0
    shown = [any(m.ns == "shield" and m.color.a > 0 for m in arr.markers) for arr in viewer.markers]
    assert any(shown), "no shield intervention was ever drawn"
