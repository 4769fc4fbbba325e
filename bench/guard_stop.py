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
import statistics
import sys
import tempfile
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))  # a domain of its own
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test" / "nodes"))
sys.path.insert(0, str(REPO / "test"))


def trial(tmp: Path) -> dict[str, float]:
    from test_guard import supervisor_kill_trial

    delays, _ = supervisor_kill_trial(tmp, rogue=False, settle_s=1.0)  # a second of commands, then the kill
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    from marl_bridge.nodes.dds_profile import use_team_profile

    use_team_profile()
    delays: list[float] = []
    for _ in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="bench_guard_") as tmp:
            got = trial(Path(tmp))
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
