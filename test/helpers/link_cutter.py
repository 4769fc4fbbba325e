"""Cut a veth link after N step results of robot_0 and heal it T seconds later; print the step count at
the heal. Runs inside the supervisor's network namespace: python link_cutter.py TEAM NS DEV N T."""

from __future__ import annotations

import subprocess
import sys
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor

from marl_bridge.msg import StepResult
from marl_bridge.nodes.topics import STREAM_QOS, agent_topic


def main() -> int:
    team, ns, dev, cut_at, cut_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    rclpy.init()
    node = rclpy.create_node("link_cutter")
    seen = [0]
    node.create_subscription(StepResult, agent_topic(team, "robot_0", "step_result"),
                             lambda _m: seen.__setitem__(0, seen[0] + 1), STREAM_QOS)
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
    print(seen[0], flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
