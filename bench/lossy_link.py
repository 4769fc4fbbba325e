"""A robot team over a lossy link, with Fast DDS's default timing and with config/fastdds_lossy_link.xml.

Two network namespaces joined by a veth pair (10.200.0.0/16, removed afterwards): the supervisor on
one "host", every actor (one process) on the "robot". nftables in the robot's namespace drops 1 packet
in K each way (test/helpers/lossy_link.py; no netem here). For each loss rate and profile it runs the
point_team config in lockstep and reports steady steps/s, step latency p50/p99, deadline misses, whether
the run equals the direct rollout, and the packets dropped; then profile / default steps/s per loss rate.
Needs root. Writes bench/results/lossy-link-latest.json.

    python -P bench/lossy_link.py [--loss 0 20 10] [--episodes 6]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from marl_bridge.config import dump_yaml, load, with_overrides
from marl_bridge.envs.factory import make_env
from marl_bridge.nodes.dds_profile import profile_path
from marl_bridge.rollout import direct_rollout

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test" / "helpers"))
from two_hosts import two_hosts  # noqa: E402  (shared with test/nodes/test_multihost.py)

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results  # noqa: E402

LOSSY_LINK = REPO / "test" / "helpers" / "lossy_link.py"
PROFILE = profile_path()  # the team profile every marl_bridge process loads by default
CLI = [sys.executable, "-P", "-m", "marl_bridge.cli"]


def run_cell(one_in: int, profile: bool, episodes: int, cell: int, work: Path) -> dict[str, Any]:
    cfg = with_overrides(load(REPO / "config" / "point_team.yaml"), episodes=episodes, seed=5)
    config = dump_yaml(cfg, work / f"team{cell}.yaml")
    agents = list(make_env(cfg.env).possible_agents)
    env = {**os.environ, "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "FASTDDS_BUILTIN_TRANSPORTS": "UDPv4",
           "ROS_DOMAIN_ID": str(1 + (os.getpid() + cell) % 100)}  # (isolated namespaces: no other peers)
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
    if profile:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    else:  # Fast DDS's own timing (marl_bridge processes load the profile by default)
        env["MARL_BRIDGE_DDS_PROFILE"] = "off"
    with two_hosts(f"{os.getpid() % 10000}{cell}", 200 + cell) as hosts:
        host, robot, veth_r = hosts.host, hosts.robot, hosts.veth_robot
        if one_in:
            subprocess.run(["ip", "netns", "exec", robot, sys.executable, str(LOSSY_LINK), "add", veth_r,
                            str(one_in)], check=True)
        actor_cmd = [*CLI, "actors", "--config", str(config)]
        for agent in agents:
            actor_cmd += ["--agent", agent]
        actors = subprocess.Popen(["ip", "netns", "exec", robot, *actor_cmd], env=env, stderr=subprocess.DEVNULL)
        out = work / f"out{cell}"
        run_cmd = [*CLI, "run", str(config), "--out", str(out), "--no-progress"]
        for agent in agents:
            run_cmd += ["--external", agent]
        try:
            t0 = time.monotonic()
            subprocess.run(["ip", "netns", "exec", host, *run_cmd], env=env, check=True, capture_output=True,
                           timeout=900)
            wall = time.monotonic() - t0
        finally:
            actors.send_signal(2)
            actors.wait(timeout=30)
        drops = int(subprocess.run(["ip", "netns", "exec", robot, sys.executable, str(LOSSY_LINK), "drops"],
                                   capture_output=True, text=True, check=True).stdout) if one_in else 0
    card = json.loads((out / "run_card.json").read_text())
    direct = direct_rollout(load(config))
    timing = card["timing"]
    return {"loss_one_in": one_in, "loss_pct_each_way": 100.0 / one_in if one_in else 0.0,
            "profile": "lossy_link" if profile else "default", "steps": timing["steps"],
            "steps_per_s": timing["steady_steps_per_s"], "p50_ms": timing["step_latency_p50_ms"],
            "p99_ms": timing["step_latency_p99_ms"], "deadline_misses": sum(card["deadline_misses"].values()),
            "equals_direct": [ep["returns"] for ep in card["episodes"]] == [r.returns for r in direct],
            "dropped_packets": drops, "wall_s": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loss", type=int, nargs="+", default=[0, 20, 10],
                        help="drop 1 packet in K each way (0: no loss)")
    parser.add_argument("--episodes", type=int, default=6)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    print(f"{'loss each way':>13} {'profile':>10} {'steps':>5} {'steps/s':>8} {'p50 ms':>7} {'p99 ms':>8} "
          f"{'misses':>6} {'= direct':>8} {'dropped':>7}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, one_in in enumerate(args.loss):
            for j, profile in enumerate((False, True)):
                r = run_cell(one_in, profile, args.episodes, 2 * i + j, Path(tmp))
                rows.append(r)
                print(f"{r['loss_pct_each_way']:>12.0f}% {r['profile']:>10} {r['steps']:>5} {r['steps_per_s']:>8.1f} "
                      f"{r['p50_ms']:>7.2f} {r['p99_ms']:>8.1f} {r['deadline_misses']:>6} "
                      f"{'yes' if r['equals_direct'] else 'no':>8} {r['dropped_packets']:>7}", flush=True)
    print()
    for one_in in args.loss:
        base, tuned = (next(r for r in rows if r["loss_one_in"] == one_in and r["profile"] == p)
                       for p in ("default", "lossy_link"))
        print(f"loss 1 in {one_in or 'inf'}: lossy_link / default steps/s = "
              f"{tuned['steps_per_s'] / base['steps_per_s']:.2f}")
    bench_results.write("lossy-link", {"config": "config/point_team.yaml", "episodes": args.episodes,
                                       "mode": "lockstep", "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
