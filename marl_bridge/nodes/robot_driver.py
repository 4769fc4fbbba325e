"""A simulated robot base that behaves like a real one: for tests, demos and users without robots.

One node per robot, each in its own process if wanted, each with its own single-robot MuJoCo world
(same robot MJCF as the team world, same arena walls; no other robots in it). It subscribes to
`geometry_msgs/Twist` on cmd_vel, publishes `nav_msgs/Odometry` at its own rate in the world frame, and
stops when commands stop arriving (like a real base's command timeout). Physics advances by the wall
time that passed, so a late timer does not slow the robot's world down.

Parameters: robot, x, y, yaw (start pose), odom_rate_hz, arena_half, cmd_timeout_s, odom_topic and
cmd_vel_topic patterns ({robot} is replaced), frame_id.
"""

from __future__ import annotations

import math
import time

import mujoco
import numpy as np
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from marl_bridge.envs.robots.world import MujocoWorld

PHYSICS_DT = 0.005
# Every parameter the node declares, with its default (launch tests check launch files pass only these).
PARAMETERS: dict[str, str | float] = {
    "robot": "robot_0", "x": 0.0, "y": 0.0, "yaw": 0.0, "odom_rate_hz": 50.0, "arena_half": 4.0,
    "cmd_timeout_s": 0.5, "odom_topic": "/{robot}/odom", "cmd_vel_topic": "/{robot}/cmd_vel", "frame_id": "world"}
ODOM_PUB_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10)
CMD_SUB_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10)


class RobotDriverNode(Node):
    """One MuJoCo-simulated base behind cmd_vel/odom topics."""

    def __init__(self, parameters: list[Parameter] | None = None, cli_args: list[str] | None = None) -> None:
        super().__init__("robot_driver", parameter_overrides=parameters or [], cli_args=cli_args)
        v = {name: self.declare_parameter(name, default).value for name, default in PARAMETERS.items()}
        self.robot: str = v["robot"]
        pose = (float(v["x"]), float(v["y"]), float(v["yaw"]))
        rate = float(v["odom_rate_hz"])
        arena_half = float(v["arena_half"])
        self.cmd_timeout_s = float(v["cmd_timeout_s"])
        odom_topic = str(v["odom_topic"]).format(robot=self.robot)
        cmd_topic = str(v["cmd_vel_topic"]).format(robot=self.robot)
        frame_id = str(v["frame_id"])
        if rate <= 0:
            raise ValueError(f"node {self.get_name()}: odom_rate_hz must be > 0, got {rate}")
        period = 1.0 / rate
        self.world = MujocoWorld([self.robot], arena_half=arena_half, control_period_s=period,
                                 substeps=max(1, round(period / PHYSICS_DT)))
        self.world.set_poses(np.array([pose], dtype=np.float64))
        self.dt = self.world.model.opt.timestep
        self.cmd = np.zeros((1, 3))
        self.cmd_at = 0.0
        self.commands = 0
        self.odom = Odometry()
        self.odom.header.frame_id = frame_id
        self.odom.child_frame_id = self.robot
        self.odom_pub = self.create_publisher(Odometry, odom_topic, ODOM_PUB_QOS)
        self.cmd_sub = self.create_subscription(Twist, cmd_topic, self._on_cmd, CMD_SUB_QOS)
        self.last_tick = time.monotonic()
        self.timer = self.create_timer(period, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(f"simulated base {self.robot!r} at ({pose[0]:.2f}, {pose[1]:.2f}, {pose[2]:.2f}): "
                               f"{cmd_topic} -> {odom_topic} at {rate:g} Hz")
        self._publish()

    def _on_cmd(self, msg: Twist) -> None:
        self.cmd[0] = (msg.linear.x, msg.linear.y, msg.angular.z)
        self.cmd_at = time.monotonic()
        self.commands += 1

    def _tick(self) -> None:
        now = time.monotonic()
        steps = min(max(1, round((now - self.last_tick) / self.dt)), 20 * self.world.substeps)
        self.last_tick = now
        fresh = now - self.cmd_at <= self.cmd_timeout_s
        self.world.command(self.cmd if fresh else np.zeros((1, 3)))
        mujoco.mj_step(self.world.model, self.world.data, nstep=steps)
        self._publish()

    def _publish(self) -> None:
        x, y, yaw = self.world.poses()[0]
        vx, vy, wz = self.world.twists()[0]
        o = self.odom
        o.header.stamp = self.get_clock().now().to_msg()
        o.pose.pose.position.x, o.pose.pose.position.y = float(x), float(y)
        o.pose.pose.orientation.z, o.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        o.twist.twist.linear.x, o.twist.twist.linear.y, o.twist.twist.angular.z = float(vx), float(vy), float(wz)
        self.odom_pub.publish(o)
