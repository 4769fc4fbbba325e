"""What recording costs the team: steps/s of `marl-bridge run` with and without `--record`, N = 4 and 32.

PointTeam (numpy, scripted greedy policies, `single` topology, lockstep): the cheapest env, so the
recording's share of a step is the largest. The recorded and the plain run take turns (ABBA rounds,
this VM's speed drifts between moments); each round's ratio is recorded / plain steps/s, reported as
the median over rounds. Every recorded run is checked for loss: the bag holds one step result per
agent-step of the card, every observation and every action. Target (issue 16): the recording costs at
most 20% (ratio >= 0.8). Results: bench/results/recording-latest.json.

    python -P bench/recording.py [--rounds 4] [--episodes 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(171 + os.getpid() % 60))  # a domain of its own
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

from marl_bridge.cli.team import run_team
from marl_bridge.config import RunConfig, load, with_overrides

REPO = Path(__file__).resolve().parents[1]


def config(n: int, episodes: int) -> RunConfig:
    cfg = with_overrides(load(REPO / "config" / "point_team.yaml"), episodes=episodes, seed=11, topology="single")
    return dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs={"n_agents": n, "max_cycles": 60}))


def one(cfg: RunConfig, out: Path, bag: Path | None) -> tuple[float, dict | None]:
    card = run_team(cfg, out, record=bag)
    assert card["status"] == "complete", card["status"]
    if bag is None:
        return card["timing"]["steps_per_s"], None
    messages = card["recording"]["messages"]
    kinds = {leaf: sum(v for t, v in messages.items() if t.endswith(f"/{leaf}"))
             for leaf in ("step_result", "observation", "action", "episode_summary")}
    totals = card["totals"]
    lost = {"step_results": totals["step_results"] - kinds["step_result"],
            "summaries": totals["episodes"] - kinds["episode_summary"],
            "actions_vs_observations": kinds["observation"] - kinds["action"]}
    return card["timing"]["steps_per_s"], {"messages": sum(messages.values()), "lost": lost,
                                           "bag_bytes": sum(f.stat().st_size for f in bag.rglob("*") if f.is_file())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--episodes", type=int, default=300, help="episodes per run at N = 4 (N = 32: a tenth)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 32])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            cfg = config(n, max(10, args.episodes * 4 // n))
            rounds = []
            for r in range(args.rounds):
                order = ("plain", "recorded") if r % 2 == 0 else ("recorded", "plain")
                rates, check = {}, None
                for side in order:
                    bag = Path(tmp) / f"bag_{n}_{r}" if side == "recorded" else None
                    rates[side], got = one(cfg, Path(tmp) / f"out_{n}_{r}_{side}", bag)
                    check = got or check
                assert check is not None and not any(check["lost"].values()), check
                rounds.append({**rates, "ratio": rates["recorded"] / rates["plain"], **check})
                print(f"N = {n} round {r}: plain {rates['plain']:.0f} steps/s, recorded {rates['recorded']:.0f} "
                      f"steps/s, ratio {rounds[-1]['ratio']:.2f}, {check['messages']} messages, none lost")
            ratios = [x["ratio"] for x in rounds]
            rows.append({"n": n, "rounds": rounds, **bench_results.spread(ratios, "ratio_")})
    result = {"env": "point_team_v0, scripted, single topology, lockstep", "target_ratio": 0.8, "rows": rows,
              "how": "the supervisor records itself through a bag writer process (recording/tap.py)"}
    path = bench_results.write("recording", result)
    for row in rows:
        print(f"N = {row['n']}: recorded / plain median {row['ratio_median']:.2f} (min {row['ratio_min']:.2f}, "
              f"max {row['ratio_max']:.2f}; target >= 0.8)")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
