"""Cut a veth link once robot_0's step results reach step N and heal it T seconds later; print the
team's longest pause during the cut and when the robot was lost, then the step at the heal (from the
results' own step numbers). Runs inside the supervisor's network namespace:
python link_cutter.py TEAM NS DEV N T."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor

from marl_bridge.msg import SafetyEvent, StepResult
from marl_bridge.nodes.topics import EVENTS_QOS, STREAM_QOS, agent_topic, team_topic


def main() -> int:
    team, ns, dev, cut_at, cut_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    rclpy.init()
    node = rclpy.create_node("link_cutter")
    seen = [0]
    stamps: list[float] = []

    def on_result(msg: StepResult) -> None:
        seen[0] = max(seen[0], msg.step + 1)  # the supervisor's own step count, whenever this matched
        stamps.append(time.monotonic())
    node.create_subscription(StepResult, agent_topic(team, "robot_0", "step_result"), on_result, STREAM_QOS)
    lost_at: list[float] = []
    node.create_subscription(SafetyEvent, team_topic(team, "safety_events"),
                             lambda m: lost_at.append(time.monotonic()) if m.kind == "actor_lost" else None, EVENTS_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    deadline = time.monotonic() + 120
    while seen[0] < cut_at and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    subprocess.run(["ip", "-n", ns, "link", "set", dev, "down"], check=True)
    cut = time.monotonic()
    while time.monotonic() - cut < cut_s:
        executor.spin_once(timeout_sec=0.05)
    subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    healed = seen[0]
    stall = max((b - a for a, b in itertools.pairwise(stamps) if a >= cut), default=0.0)
    lost = [t - cut for t in lost_at if t >= cut]
    print(f"longest pause of the team during the cut: {stall:.2f} s; robot lost {lost[0]:.2f} s after the cut"
          if lost else f"longest pause of the team during the cut: {stall:.2f} s; robot not lost", flush=True)
    print(healed, flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
