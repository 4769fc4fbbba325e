"""The hardware adapter: real robots as the body of a team task.

State comes from each robot's `nav_msgs/Odometry` (pose in the task's world frame, twist in the body
frame, as REP 105 has it); commands go out as `geometry_msgs/Twist` on each robot's cmd_vel, clamped to
the configured limits. Nothing here blocks: odometry callbacks fill a cache, a control tick reads it.
Missing or stale odometry becomes a `stale_observation` safety event (the last known state stands in),
and `halt()` sends every robot a zero command (shutdown, e-stop, pause).

Real robots cannot be teleported, so an episode starts wherever they stand; bumpers are not modelled,
so contact onsets are reported as zero.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, LivelinessPolicy, QoSProfile, ReliabilityPolicy

from marl_bridge.config import HardwareConfig
from marl_bridge.envs.robots.tasks import DriveLimits
from marl_bridge.safety.events import SafetyEventData

# Best effort accepts both reliable and best-effort odometry publishers; only the newest sample matters.
ODOM_QOS = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=5)
CMD_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10)


def team_cmd_qos(hw: HardwareConfig) -> QoSProfile:
    """The team's commands to the guards: reliable, and alive only while the supervisor's process is (DDS
    automatic liveliness with a short lease: a guard hears of a dead supervisor within it)."""
    return QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10,
                      liveliness=LivelinessPolicy.AUTOMATIC,
                      liveliness_lease_duration=Duration(nanoseconds=round(hw.liveliness_lease_s * 1e9)))


def yaw_of(q: Any) -> float:
    """Yaw of a quaternion (rotation about z), as planar robots use it."""
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class HardwareBody:
    """Robots behind odometry and cmd_vel topics. `bind(node)` creates the ROS interfaces on a node."""

    robot_radius = 0.2  # for the task's start-pose sampling only; real robots start where they stand
    senses_contacts = False
    time = None  # real time passes on its own: no simulated clock
    model = None  # nothing to render

    def __init__(self, agents: list[str], hw: HardwareConfig, *, control_period_s: float,
                 limits: DriveLimits) -> None:
        from marl_bridge.nodes.topics import ros_name

        self.agents = agents
        self.hw = hw
        self.control_period_s = control_period_s
        self.limits = limits
        self.robots = [hw.robot_name(a, ros_name(a)) for a in agents]
        n = len(agents)
        self._pose = np.full((n, 3), np.nan)
        self._twist = np.zeros((n, 3))
        self._received = np.zeros(n)  # monotonic time of each robot's newest odometry (0: never)
        self._stale = np.zeros(n, dtype=bool)
        self.new_contacts = np.zeros(n, dtype=np.int64)
        self.events: list[SafetyEventData] = []
        self._pubs: list[Any] = []
        self._twist_msg = Twist()

    def topics(self) -> dict[str, tuple[str, str]]:
        """robot -> (odometry, the topic the team commands: the guard's input when guards run, else cmd_vel)."""
        cmd = self.hw.team_cmd_topic or self.hw.cmd_vel_topic
        return {r: (self.hw.odom_topic.format(robot=r), cmd.format(robot=r)) for r in self.robots}

    def bind(self, node: Node) -> None:
        qos = team_cmd_qos(self.hw) if self.hw.team_cmd_topic else CMD_QOS
        for i, (odom, cmd) in enumerate(self.topics().values()):
            node.create_subscription(Odometry, odom, self._odom_callback(i), ODOM_QOS)
            self._pubs.append(node.create_publisher(Twist, cmd, qos))

    def _odom_callback(self, i: int) -> Any:
        def callback(msg: Odometry) -> None:
            p = msg.pose.pose
            self._pose[i] = (p.position.x, p.position.y, yaw_of(p.orientation))
            t = msg.twist.twist
            self._twist[i] = (t.linear.x, t.linear.y, t.angular.z)
            self._received[i] = time.monotonic()
        return callback

    def missing(self) -> list[str]:
        """Robots that never sent odometry."""
        return [r for r, t in zip(self.robots, self._received, strict=True) if t == 0.0]

    # -- the Body interface --------------------------------------------------------------------
    def start(self, poses: np.ndarray) -> np.ndarray:
        if self.missing():
            raise RuntimeError(f"no odometry from {', '.join(self.missing())}: cannot start an episode")
        self.halt()
        return self._pose.copy()

    def command(self, body_cmd: np.ndarray) -> None:
        if not self._pubs:
            raise RuntimeError("hardware backend used before bind(node): it runs inside the supervisor")
        lin, ang = self.hw.max_linear_mps, self.hw.max_angular_rps
        msg = self._twist_msg
        for i, pub in enumerate(self._pubs):
            vx, vy, wz = body_cmd[i]
            if self.limits.drive == "differential":
                vy = 0.0
            msg.linear.x = float(min(max(vx, -lin), lin))
            msg.linear.y = float(min(max(vy, -lin), lin))
            msg.angular.z = float(min(max(wz, -ang), ang))
            pub.publish(msg)

    def advance(self) -> None:
        """Time passes in the real world; here only the odometry's age is checked."""
        now = time.monotonic()
        age = now - self._received
        stale = age > self.hw.stale_after_s
        for i in np.flatnonzero(stale & ~self._stale):  # report when it goes stale, not every tick
            never = self._received[i] == 0.0
            self.events.append(SafetyEventData(
                "stale_observation", self.agents[i], 0, 0,
                f"no odometry from {self.robots[i]} on {self.hw.odom_topic.format(robot=self.robots[i])}"
                + (" yet" if never else f" for {age[i]:.2f} s (allowed {self.hw.stale_after_s} s)")
                + "; using its last known state", float(age[i]) if not never else math.inf))
        self._stale = stale

    def poses(self) -> np.ndarray:
        return np.nan_to_num(self._pose.copy())

    def twists(self) -> np.ndarray:
        return self._twist.copy()

    def set_marker(self, name: str, xy: np.ndarray) -> None:
        """Markers are drawn in simulation only."""

    def halt(self) -> None:
        """Zero command to every robot (shutdown, e-stop, pause)."""
        if self._pubs:
            self.command(np.zeros((len(self.robots), 3)))


def hardware_body(task: Any, settings: dict[str, Any], hardware: HardwareConfig | None) -> HardwareBody:
    """The `hardware` backend's body (registered in envs.backends)."""
    if hardware is None:
        raise ValueError("backend 'hardware' needs the hardware settings (config section 'hardware')")
    return HardwareBody(task.agents, hardware, control_period_s=settings["control_period_s"],
                        limits=settings["limits"])
