"""A robot's guard node: between the team and the robot's base (`marl-bridge guard --config C --robot R`).

It forwards the team's commands from `hardware.team_cmd_topic` to the base's `hardware.cmd_vel_topic`,
drops commands from any other writer (counted and logged), and commands zero and holds when the
supervisor's command writer loses its DDS liveliness (its process died: noticed within
`hardware.liveliness_lease_s`) or no command came for `hardware.guard_timeout_s` (safety/guard.py decides).
The team's writers are the ones the supervisor node owns in the graph. Spun by a SingleThreadedExecutor:
the callback needs each message's writer id (MessageInfo), which the EventsExecutor does not hand over.
"""

from __future__ import annotations

import time
from typing import Any

from geometry_msgs.msg import Twist
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node

from marl_bridge.config import ConfigError, RunConfig
from marl_bridge.envs.robots.hardware import CMD_QOS, team_cmd_qos
from marl_bridge.nodes.topics import team_names
from marl_bridge.safety.guard import DeadMan

TICK_S = 0.01
LEARN_S = 0.05  # an unknown writer's command reads the graph again, at most this often


class GuardNode(Node):
    def __init__(self, cfg: RunConfig, robot: str, team_node: str = "") -> None:
        # in the team's namespace (a launch's __ns overrides it); the team's commands are the supervisor's
        super().__init__(f"{robot}_guard", namespace=cfg.supervisor.team)
        team_node = team_node or team_names(self.get_namespace(), cfg.supervisor.team).node("supervisor")
        hw = cfg.hardware
        if hw is None or not hw.team_cmd_topic:
            raise ConfigError(f"{cfg.source}: a guard needs hardware.team_cmd_topic (what the team commands; the "
                              "guard forwards it to hardware.cmd_vel_topic)")
        self.robot, self.team_node = robot, team_node
        self.in_topic, self.out_topic = hw.team_cmd_topic.format(robot=robot), hw.cmd_vel_topic.format(robot=robot)
        self.dead_man = DeadMan(hw.guard_timeout_s)
        self.learned_at = 0.0
        self.base = self.create_publisher(Twist, self.out_topic, CMD_QOS)
        self.create_subscription(Twist, self.in_topic, self._on_command, team_cmd_qos(hw),
                                 event_callbacks=SubscriptionEventCallbacks(liveliness=self._on_liveliness))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(TICK_S, self._tick, clock=steady)
        self.create_timer(0.25, self._learn_team, clock=steady)
        self.zero = Twist()
        self.get_logger().info(f"guarding {robot}: {self.in_topic} (from {team_node} only) -> {self.out_topic}")

    def _learn_team(self) -> None:
        """The team's writers on the input topic, by the supervisor node that owns them."""
        self.learned_at = time.monotonic()
        self.dead_man.team = {bytes(i.endpoint_gid[:16]) for i in self.get_publishers_info_by_topic(self.in_topic)
                              if f"{i.node_namespace.rstrip('/')}/{i.node_name}" == self.team_node}

    def _on_command(self, msg: Twist, info: Any) -> None:
        writer = bytes(info["publisher_gid"]["data"][:16]) if info.get("publisher_gid") else b""
        now = time.monotonic()
        if writer not in self.dead_man.team and now - self.learned_at > LEARN_S:
            self._learn_team()  # a writer of the team that just appeared (a rogue's flood asks at most this often)
        if self.dead_man.command(writer, now):
            self.base.publish(msg)
        elif self.dead_man.dropped & (self.dead_man.dropped - 1) == 0:  # 1st, 2nd, 4th, ...
            self.get_logger().error(f"dropped a command on {self.in_topic} from a writer outside the team "
                                    f"({self.dead_man.dropped} so far)")

    def _on_liveliness(self, status: Any) -> None:
        if status.not_alive_count_change > 0:
            self.dead_man.liveliness_lost()

    def _tick(self) -> None:
        why = self.dead_man.tick(time.monotonic())
        if why is not None:
            self.base.publish(self.zero)
            self.get_logger().warning(f"{self.robot}: zero command and hold: {why}")

    def stop(self) -> None:
        """On the way down (Ctrl-C): the base gets a last zero."""
        if self.context.ok():
            self.base.publish(self.zero)


def spin_guard(cfg: RunConfig, robot: str, team_node: str, ros_args: list[str] | None) -> int:
    from rclpy.executors import SingleThreadedExecutor

    from marl_bridge.nodes.spin import spin_node

    return spin_node(lambda: GuardNode(cfg, robot, team_node), SingleThreadedExecutor, ros_args,
                     on_stop=lambda node: node.stop())  # type: ignore[attr-defined]
