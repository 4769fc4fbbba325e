"""Flood one action topic: `python -P flood.py TOPIC RATE SECONDS` publishes RATE garbage actions per
second (for an episode that does not exist) for SECONDS, then prints how many it sent."""

from __future__ import annotations

import sys
import time
from array import array

import rclpy

from marl_bridge.msg import Action
from marl_bridge.nodes.topics import STREAM_QOS


def main() -> None:
    topic, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    with rclpy.init():
        node = rclpy.create_node("flood")
        pub = node.create_publisher(Action, topic, STREAM_QOS)
        while pub.get_subscription_count() == 0:  # the supervisor's subscription
            rclpy.spin_once(node, timeout_sec=0.05)
        msg = Action(agent="robot_1", episode=999_999, step=0, layout=1)
        msg.data_f32 = array("f", [0.0, 0.0, 0.0])
        sent, start = 0, time.monotonic()
        while (now := time.monotonic() - start) < seconds:
            due = int(now * rate)
            while sent < due:
                pub.publish(msg)
                sent += 1
            time.sleep(0.001)
        print(f"sent {sent} in {time.monotonic() - start:.2f} s", flush=True)


if __name__ == "__main__":
    main()
