"""The simulated robot world as ROS sees real robots: per robot `nav_msgs/Odometry` on
<team>/<robot>/odom and the commanded `geometry_msgs/Twist` on <team>/<robot>/cmd_vel, plus a
`visualization_msgs/MarkerArray` on <team>/markers (robots with heading and name, targets, zones,
obstacles, arena walls, the shield's geofence, and a red disc over each robot the shield corrected this
step), so `ros2 topic echo`, RViz and Foxglove show the team live (docs/visualize.md).

Published after every simulated step, and only while someone listens: matched events keep the reader
count, so a team nobody watches pays one integer test per step. Stamps are the step's simulated time.
On hardware the robots publish their own odometry; this view is for simulated worlds only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from builtin_interfaces.msg import Duration as DurationMsg
from geometry_msgs.msg import Point, Twist
from nav_msgs.msg import Odometry
from rclpy.event_handler import PublisherEventCallbacks
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from marl_bridge.nodes.topics import TeamNames

FRAME = "world"  # the arena's frame, as the simulated bases (nodes/robot_driver.py) use it
VIEW_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10)
ROBOT_RGBA = (0.15, 0.45, 0.85, 1.0)
SHIELD_RGBA = (0.9, 0.1, 0.1, 0.8)
LINE_WIDTH = 0.03


def _rgba(c: tuple[float, ...]) -> ColorRGBA:
    return ColorRGBA(r=float(c[0]), g=float(c[1]), b=float(c[2]), a=float(c[3]))


def _yaw_quaternion(yaw: float) -> tuple[float, float]:
    """(z, w) of a rotation by yaw about z."""
    return math.sin(yaw / 2), math.cos(yaw / 2)


class WorldView:
    """Odometry, commands and markers of a simulated RobotTeamEnv, on the supervisor's node."""

    def __init__(self, node: Node, names: TeamNames, world: Callable[[], Any], robots: list[str],
                 geofence: tuple[float, ...] = ()) -> None:
        """`world()`: the run's RobotTeamEnv now (a backend fallback may replace it); `robots`: the ROS names
        of its robots in possible_agents order."""
        self.world, self.robots, self.geofence = world, robots, geofence
        self.readers = 0
        self._counts: dict[Any, int] = {}

        def pub(msg: Any, topic: str) -> Any:
            return node.create_publisher(msg, topic, VIEW_QOS,
                                         event_callbacks=PublisherEventCallbacks(matched=self._matched(topic)))
        self.odom_pubs = [pub(Odometry, names.team(f"{r}/odom")) for r in self.robots]
        self.cmd_pubs = [pub(Twist, names.team(f"{r}/cmd_vel")) for r in self.robots]
        self.marker_pub = pub(MarkerArray, names.team("markers"))
        self._odom = [Odometry() for _ in self.robots]
        for msg, r in zip(self._odom, self.robots, strict=True):
            msg.header.frame_id, msg.child_frame_id = FRAME, f"{r}/base_link"
        self.corrected: Callable[[], set[int]] = set  # robots the shield corrected in the last step

    def _matched(self, topic: str) -> Callable[[Any], None]:
        def matched(info: Any) -> None:
            self._counts[topic] = info.current_count
            self.readers = sum(self._counts.values())
        return matched

    def publish(self, seconds: float) -> None:
        if not self.readers:
            return
        sec, nanosec = divmod(round(seconds * 1e9), 1_000_000_000)
        env = self.world()
        poses, twists = env.robot_states()
        commanded = env.commanded()
        for i, msg in enumerate(self._odom):
            msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
            p = msg.pose.pose
            p.position.x, p.position.y = float(poses[i, 0]), float(poses[i, 1])
            p.orientation.z, p.orientation.w = _yaw_quaternion(float(poses[i, 2]))
            t = msg.twist.twist  # body frame, as odometry reports it (child_frame_id)
            t.linear.x, t.linear.y, t.angular.z = (float(v) for v in twists[i])
            self.odom_pubs[i].publish(msg)
            cmd = Twist()
            cmd.linear.x, cmd.linear.y, cmd.angular.z = (float(v) for v in commanded[i])
            self.cmd_pubs[i].publish(cmd)
        self.marker_pub.publish(self.markers(env, poses, sec, nanosec))

    def markers(self, env: Any, poses: np.ndarray, sec: int = 0, nanosec: int = 0) -> MarkerArray:
        """Everything RViz or Foxglove needs to draw the world at these poses."""
        out: list[Marker] = []

        def marker(ns: str, ident: int, kind: int, rgba: tuple[float, ...], *, x: float = 0.0, y: float = 0.0,
                   z: float = 0.0, scale: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Marker:
            m = Marker(ns=ns, id=ident, type=kind, action=Marker.ADD, color=_rgba(rgba),
                       lifetime=DurationMsg(sec=0, nanosec=0), frame_locked=False)
            m.header.frame_id, m.header.stamp.sec, m.header.stamp.nanosec = FRAME, sec, nanosec
            m.pose.position.x, m.pose.position.y, m.pose.position.z = x, y, z
            m.pose.orientation.w = 1.0
            m.scale.x, m.scale.y, m.scale.z = scale
            out.append(m)
            return m

        task = env.task
        radius = float(env.robot_radius)
        corrected = self.corrected()
        for i, name in enumerate(self.robots):
            x, y, yaw = (float(v) for v in poses[i])
            marker("robots", i, Marker.CYLINDER, ROBOT_RGBA, x=x, y=y, z=0.05, scale=(2 * radius, 2 * radius, 0.1))
            arrow = marker("headings", i, Marker.ARROW, (1.0, 1.0, 1.0, 1.0), x=x, y=y, z=0.12,
                           scale=(2 * radius, 0.05, 0.05))
            arrow.pose.orientation.z, arrow.pose.orientation.w = _yaw_quaternion(yaw)
            label = marker("names", i, Marker.TEXT_VIEW_FACING, (1.0, 1.0, 1.0, 1.0), x=x, y=y, z=0.4,
                           scale=(0.2, 0.2, 0.2))
            label.text = name
            marker("shield", i, Marker.CYLINDER, SHIELD_RGBA if i in corrected else (0.0, 0.0, 0.0, 0.0),
                   x=x, y=y, z=0.2, scale=(2.6 * radius, 2.6 * radius, 0.02))
        moving = task.moving_markers()
        for k, m in enumerate(task.markers()):
            mx, my = (float(v) for v in moving.get(m.name, m.pos))
            kind = Marker.SPHERE if m.mocap else Marker.CYLINDER
            height = 2 * m.radius if m.mocap else 0.01
            marker("targets" if m.mocap else "zones", k, kind, m.rgba, x=mx, y=my, z=height / 2,
                   scale=(2 * m.radius, 2 * m.radius, height))
        for k, (ox, oy, r) in enumerate(task.obstacles):
            marker("obstacles", k, Marker.CYLINDER, (0.5, 0.5, 0.5, 1.0), x=float(ox), y=float(oy), z=0.15,
                   scale=(2 * r, 2 * r, 0.3))
        h = float(task.arena_half)
        walls = marker("arena", 0, Marker.LINE_STRIP, (0.8, 0.8, 0.8, 1.0), scale=(LINE_WIDTH, 0.0, 0.0))
        walls.points = [Point(x=px, y=py) for px, py in ((-h, -h), (h, -h), (h, h), (-h, h), (-h, -h))]
        if self.geofence:
            f = self.geofence
            corners = ([(f[0], f[1]), (f[2], f[1]), (f[2], f[3]), (f[0], f[3])] if len(f) == 4
                       else list(zip(f[0::2], f[1::2], strict=True)))
            fence = marker("geofence", 0, Marker.LINE_STRIP, (1.0, 0.6, 0.0, 1.0), scale=(LINE_WIDTH, 0.0, 0.0))
            fence.points = [Point(x=float(px), y=float(py)) for px, py in [*corners, corners[0]]]
        return MarkerArray(markers=out)
