"""Recorder throughput: messages/s the RecorderNode records without loss, against the publish rate.

A child process publishes small Action messages (2 floats) on one team topic at a target rate, in
bursts every 10 ms; the recorder (this process, raw subscription, SingleThreadedExecutor) writes them
into an MCAP bag. For each rate it reports published, recorded, lost, and the achieved rates; the
`max` row publishes as fast as one Python process can. Writes bench/results/recorder-latest.json.

    python -P bench/recorder.py [--seconds 2] [--rates 1000 2000 5000 10000 20000 max]

DDS stays on this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in a domain of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))

import rclpy
from rclpy.executors import SingleThreadedExecutor

from marl_bridge.cli.team import die_with_parent
from marl_bridge.msg import Action
from marl_bridge.nodes.topics import STREAM_QOS, agent_topic
from marl_bridge.recording.recorder import RecorderNode

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

TEAM, AGENT = "rbench", "robot_0"
RESULTS = Path(__file__).parent / "results"


def publisher(rate: float, seconds: float) -> None:
    """Child: wait for the recorder, then publish `rate * seconds` messages (rate 0: as fast as possible)."""
    with rclpy.init():
        node = rclpy.create_node("rbench_publisher")
        pub = node.create_publisher(Action, agent_topic(TEAM, AGENT, "action"), STREAM_QOS)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while pub.get_subscription_count() == 0:  # the recorder's subscription must be matched first
            executor.spin_once(timeout_sec=0.05)
        msg = Action(agent=AGENT, data=array("d", [0.1, 0.2]))
        sent, t0 = 0, time.perf_counter()

        def send() -> None:
            nonlocal sent
            msg.step = sent
            pub.publish(msg)
            sent += 1

        if rate == 0:  # as fast as one Python process can publish
            while time.perf_counter() < t0 + seconds:
                send()
        else:
            total = int(rate * seconds)
            while sent < total:
                due = min(total, int((time.perf_counter() - t0) * rate) + 1)
                while sent < due:
                    send()
                time.sleep(0.01)  # bursts every 10 ms: the publisher paces itself (this is no test wait)
        elapsed = time.perf_counter() - t0
        print(json.dumps({"sent": sent, "publish_s": elapsed}), flush=True)


def measure(rate: float, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, rclpy.init():
        recorder = RecorderNode(TEAM, [AGENT], Path(tmp) / "bag")
        executor = SingleThreadedExecutor()
        executor.add_node(recorder)
        topic = agent_topic(TEAM, AGENT, "action")
        child = subprocess.Popen([sys.executable, "-P", __file__, "--publish", str(rate), str(seconds)],
                                 stdout=subprocess.PIPE, text=True, env=os.environ.copy(), preexec_fn=die_with_parent)
        first = last = None
        while child.poll() is None:
            executor.spin_once(timeout_sec=0.01)
            if recorder.counts[topic]:
                first = first or time.perf_counter()
                last = time.perf_counter()
        report = json.loads(child.stdout.read().strip().splitlines()[-1])
        idle_since = time.perf_counter()
        while time.perf_counter() - idle_since < 0.5 and recorder.counts[topic] < report["sent"]:
            before = recorder.counts[topic]
            executor.spin_once(timeout_sec=0.05)
            if recorder.counts[topic] != before:
                idle_since = last = time.perf_counter()
        recorded = recorder.counts[topic]
        recorder.destroy_node()
        executor.shutdown()
    return {"target_rate": rate or "max", "sent": report["sent"], "recorded": recorded,
            "lost": report["sent"] - recorded, "publish_rate": report["sent"] / report["publish_s"],
            "record_rate": recorded / max((last or 1) - (first or 0), 1e-9)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rates", nargs="+", default=["1000", "2000", "5000", "10000", "20000", "max"])
    parser.add_argument("--publish", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publisher(float(args.publish[0]), float(args.publish[1]))
        return 0
    rows = []
    print(f"{'target/s':>9} {'sent':>7} {'recorded':>8} {'lost':>6} {'published/s':>11} {'recorded/s':>10}")
    for rate in args.rates:
        row = measure(0.0 if rate == "max" else float(rate), args.seconds)
        rows.append(row)
        print(f"{row['target_rate']!s:>9} {row['sent']:>7} {row['recorded']:>8} {row['lost']:>6} "
              f"{row['publish_rate']:>11.0f} {row['record_rate']:>10.0f}", flush=True)
    out = bench_results.write("recorder", {"seconds": args.seconds, "rows": rows})
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
