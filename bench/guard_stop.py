"""How fast the robots stop when the supervisor dies: SIGKILL to a zero command at each base.

The hardware handoff team (2 robots) on simulated bases with a guard per robot (nodes/guard.py), the
supervisor in its own process (`marl-bridge run`). Once every base got a command from the team, the
supervisor gets SIGKILL; the time until each base receives a zero command is recorded. Before the guards
nothing in the package stopped the robots: the bases stopped on their own command timeout 0.57-0.61 s
later (issue 14). Goal: 0.25 s. Results: bench/results/guard-stop-latest.json.

    python -P bench/guard_stop.py [--trials 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test" / "nodes"))
sys.path.insert(0, str(REPO / "test"))


def trial(tmp: Path) -> dict[str, float]:
    import rclpy
    from geometry_msgs.msg import Twist
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.task import Future
    from test_guard import CLI, ROBOTS, guarded_config

    from marl_bridge.cli.team import die_with_parent
    from marl_bridge.envs.robots.drivers import driver_commands
    from marl_bridge.envs.robots.hardware import CMD_QOS

    cfg, path = guarded_config(tmp)
    env = os.environ.copy()
    procs = [subprocess.Popen(c, env=env, preexec_fn=die_with_parent) for c in [
        *driver_commands(cfg, rate=50.0), *([*CLI, "guard", "--config", str(path), "--robot", r] for r in ROBOTS)]]
    supervisor = subprocess.Popen([*CLI, "run", str(path), "--out", str(tmp / "out"), "--no-progress"], env=env,
                                  preexec_fn=die_with_parent, stderr=subprocess.DEVNULL)
    moving, stopped = {r: Future() for r in ROBOTS}, {r: Future() for r in ROBOTS}
    killed: list[float] = []
    try:
        with rclpy.init():
            node = rclpy.create_node("stop_watch")

            def on_base(robot: str):
                def callback(msg: Twist) -> None:
                    now = time.monotonic()
                    if not killed and not moving[robot].done():
                        moving[robot].set_result(now)
                    if killed and msg.linear.x == msg.linear.y == msg.angular.z == 0.0 and not stopped[robot].done():
                        stopped[robot].set_result(now - killed[0])
                return callback
            for r in ROBOTS:
                node.create_subscription(Twist, f"/{r}/cmd_vel", on_base(r), CMD_QOS)
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            for r in ROBOTS:
                executor.spin_until_future_complete(moving[r], timeout_sec=60)
            time.sleep(1.0)  # a second of commands in flight, then the kill (a bench: a fixed moment is fine)
            executor.spin_once(timeout_sec=0)
            supervisor.send_signal(signal.SIGKILL)
            killed.append(time.monotonic())
            for r in ROBOTS:
                executor.spin_until_future_complete(stopped[r], timeout_sec=10)
            node.destroy_node()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        supervisor.wait(timeout=10)
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=10)
    return {r: f.result() for r, f in stopped.items() if f.done()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    from marl_bridge.nodes.dds_profile import use_team_profile

    use_team_profile()
    delays: list[float] = []
    for _ in range(args.trials):
        got = trial(Path(tempfile.mkdtemp(prefix="bench_guard_")))
        delays += list(got.values())
        missing = 2 - len(got)
        print(f"zero after SIGKILL: {', '.join(f'{r} {d * 1e3:.0f} ms' for r, d in got.items())}"
              + (f"; {missing} base(s) got none within 10 s" if missing else ""))
    result = {"trials": args.trials, "delays_s": delays, "median_s": statistics.median(delays), "max_s": max(delays),
              "goal_s": 0.25}
    print(f"SIGKILL -> zero at every base: median {result['median_s'] * 1e3:.0f} ms, "
          f"max {result['max_s'] * 1e3:.0f} ms over {len(delays)} robot-stops (goal 250 ms)")
    print(f"results: {bench_results.write('guard-stop', result)}")


if __name__ == "__main__":
    main()
