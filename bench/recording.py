"""What recording costs the team: steps/s of `marl-bridge run` with and without `--record`, N = 4 and 32.

PointTeam (numpy, 60-step episodes, `single` topology, lockstep; zero actions, as bench/lockstep.py's
teams), the cheapest env, so the recording's share of a step is the largest. The plain and the recorded
team run at the same time, each in its own process group and ROS domain (the recorded one with its bag
writer process), and take turns in short slices (bench/lockstep.py's method: SIGSTOP/SIGCONT, AB BA
rounds): this VM's speed drifts by +-25% between moments, so runs one after the other cannot be compared.
The ratio is recorded / plain steps/s per round, the median over rounds with a bootstrap 95% interval.
The recorded team's bag is checked for loss against its card: one step result per agent-step, one summary
per episode, an action for every observation but the last step's. Target (issue 16): the recording costs
at most 20% (ratio >= 0.8). Results: bench/results/recording-latest.json.

    python -P bench/recording.py [--budget 20] [--sizes 4 32]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(171 + os.getpid() % 60))  # a domain of its own
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results
import lockstep


def lost(card: dict, n: int) -> dict[str, int]:
    """What the recorded team's bag misses against its card. The run was stopped mid-episode: that episode's
    step results are in the bag and not in the card's totals (which count whole episodes), and the last
    step's observations may be unanswered."""
    messages = card["recording"]["messages"]
    kinds = {leaf: sum(v for t, v in messages.items() if t.endswith(f"/{leaf}"))
             for leaf in ("step_result", "observation", "action", "episode_summary")}
    totals = card["totals"]
    unanswered = kinds["observation"] - kinds["action"]
    partial = kinds["step_result"] - totals["step_results"]  # the episode the stop cut: in the bag, not the card
    return {"step_results": partial if not 0 <= partial < 60 * n else 0,
            "summaries": totals["episodes"] - kinds["episode_summary"],
            "actions": unanswered if not 0 <= unanswered <= n else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=20.0, help="seconds of interleaved running per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 32])
    parser.add_argument("--against", metavar="REV",
                        help="instead of the plain team: a recorded team of REV's code (bench/against.py), one run; "
                             "recorded / recorded@REV (results: recording-against-latest.json)")
    args = parser.parse_args()
    base_domain = 171 + (os.getpid() % 20) * 2
    if args.against:
        return compare_versions(args, base_domain)
    rows = []
    for n in args.sizes:
        cards: dict[str, dict] = {}
        row = lockstep.measure("episodes", n, "single", args.budget, base_domain, names=("bridge", "recorded"),
                               cards=cards)
        card = cards.get("recorded")
        assert card is not None and card.get("recording"), f"N = {n}: the recorded team left no card"
        row["lost"] = lost(card, n)
        row["messages"] = sum(card["recording"]["messages"].values())
        assert not any(row["lost"].values()), (n, row["lost"])
        lo, hi = row["recorded_over_bridge_ci95"]
        rows.append({"n": n, **row})
        plain, recorded = row["bridge"]["steps_per_s"], row["recorded"]["steps_per_s"]
        print(f"N = {n}: plain {plain:.0f} steps/s, recorded {recorded:.0f} steps/s; recorded / plain "
              f"{row['recorded_over_bridge']:.2f} (95% CI {lo:.2f}-{hi:.2f}) over {row['rounds']} rounds; "
              f"{row['messages']} messages recorded, none lost", flush=True)
    result = {"env": "point_team_v0, 60-step episodes, zero actions, single topology, lockstep", "target_ratio": 0.8,
              "method": "interleaved AB BA slices (SIGSTOP/SIGCONT), median of per-round ratios, bootstrap 95% CI",
              "budget_s": args.budget, "rows": rows,
              "how": "the supervisor records itself through a bag writer process (recording/tap.py)"}
    path = bench_results.write("recording", result)
    met = all(r["recorded_over_bridge"] >= 0.8 for r in rows)
    print(f"target (recorded / plain >= 0.8 at every size): {'met' if met else 'NOT met'}\nresults: {path}")
    return 0


def compare_versions(args: argparse.Namespace, base_domain: int) -> int:
    """`--against REV`: a recorded team of this checkout against one of REV, interleaved in one run."""
    ref, subject = lockstep.against_version(args.against, "recorded")
    rows = []
    try:
        for n in args.sizes:
            row = lockstep.measure("episodes", n, "single", args.budget, base_domain, names=(ref, subject))
            rows.append({"n": n, **row})
            lo, hi = row[f"{subject}_over_{ref}_ci95"]
            print(f"N = {n}: recorded, this checkout / {args.against}: {row[f'{subject}_over_{ref}']:.3f} "
                  f"(95% CI {lo:.3f}-{hi:.3f}) over {row['rounds']} rounds", flush=True)
    finally:
        lockstep.forget_versions()
    path = bench_results.write("recording-against", {"against": args.against, "budget_s": args.budget, "rows": rows})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
