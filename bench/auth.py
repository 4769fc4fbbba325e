"""Cost of authenticated team traffic (safety.key_file) in a lockstep step, at N = 8 robots.

Two measurements in one run:
- per message: packing an Observation and an Action with and without a Signer, and verifying them, on
  the PointTeam spaces (4-float observation, 2-float action); the four tag operations one agent-step adds
  (sign and verify each way), plain and signed taking turns over 21 rounds (median difference);
- through the bridge: PointTeam with 8 agents in lockstep, the keyed and the unkeyed team taking turns
  (ABBA rounds of a few episodes), steady steps/s per run; the median ratio over rounds. Tags exist only
  where messages cross DDS: in the `actors` topology (the actors in a process of their own, as on robots,
  where every observation and action is signed and checked) and in `single` with run.intra_process
  false (both sides in one process, all on one core's critical path: the worst case). In `single` with
  the default in-process hand-over nothing is tagged (nothing crosses a link), so it is not measured.
Target (issue 14): the key costs at most 5% of a lockstep step at N = 8. Results:
bench/results/auth-latest.json.

    python -P bench/auth.py [--rounds 4] [--episodes 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import timeit
from array import array
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))  # a domain of its own
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

from marl_bridge.cli.team import run_team
from marl_bridge.codec import Flat
from marl_bridge.config import RunConfig, load, with_overrides
from marl_bridge.nodes.wire import ActionWriter, ObservationWriter, parse_action, parse_observation
from marl_bridge.trust.keys import Key, new_team_key
from marl_bridge.trust.tags import ACTION, OBSERVATION, Signer, Verifier

REPO = Path(__file__).resolve().parents[1]
N = 8


def per_message() -> dict[str, float]:
    key = Key(b"k" * 32)
    obs, act = Flat(f32=array("f", [0.1, 0.2, 0.3, 0.4])), Flat(f32=array("f", [0.5, -0.5]))
    plain_o, plain_a = ObservationWriter("robot_0", 1), ActionWriter("robot_0", 2)
    signed_o, signed_a = ObservationWriter("robot_0", 1, Signer(key, OBSERVATION)), ActionWriter(
        "robot_0", 2, Signer(key, ACTION))
    vo, va = Verifier(key, OBSERVATION), Verifier(key, ACTION)

    def plain() -> None:
        parse_action(plain_a.pack(1, 2, 0, 7, act, 0.0))
        parse_observation(plain_o.pack(1, 2, 0, 7, obs))

    def signed() -> None:
        m = parse_action(signed_a.pack(1, 2, 0, 7, act, 0.0))
        va.check(m.counter, m.tag, m.signed)
        m = parse_observation(signed_o.pack(1, 2, 0, 7, obs))
        vo.check(m.counter, m.tag, m.signed)

    # plain and signed take turns (this VM's speed drifts between moments): the added cost is the median
    # of the per-round differences
    n, rounds = 5_000, 21
    pairs = [(timeit.timeit(plain, number=n) / n, timeit.timeit(signed, number=n) / n) for _ in range(rounds)]
    added = statistics.median(s - p for p, s in pairs)
    return {"agent_step_plain_us": statistics.median(p for p, _ in pairs) * 1e6,
            "agent_step_signed_us": statistics.median(s for _, s in pairs) * 1e6,
            "added_per_agent_step_us": added * 1e6, "rounds": rounds}


def config(key_file: str, topology: str) -> RunConfig:
    cfg = load(REPO / "config" / "point_team.yaml")
    env = dataclasses.replace(cfg.env, kwargs={**cfg.env.kwargs, "n_agents": N})
    run = dataclasses.replace(cfg.run, topology=topology, intra_process=False)  # tags live on DDS only
    return dataclasses.replace(cfg, env=env, run=run, safety=dataclasses.replace(cfg.safety, key_file=key_file))


def through_bridge(rounds: int, episodes: int, topology: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench_auth_") as tmp:  # key and cards: gone with the cell
        return _through_bridge(Path(tmp), rounds, episodes, topology)


def _through_bridge(tmp: Path, rounds: int, episodes: int, topology: str) -> dict[str, object]:
    key = str(new_team_key(tmp / "team.key"))
    rates: dict[str, list[float]] = {"plain": [], "keyed": []}
    ratios = []
    for r in range(rounds):
        order = ("plain", "keyed") if r % 2 == 0 else ("keyed", "plain")
        got = {}
        for kind in order:
            cfg = with_overrides(config(key if kind == "keyed" else "", topology), episodes=episodes, seed=r)
            card = run_team(cfg, tmp / f"{kind}{r}")
            assert card["status"] == "complete" and card.get("authenticated") is (kind == "keyed")
            got[kind] = card["timing"]["steady_steps_per_s"]
            rates[kind].append(got[kind])
        ratios.append(got["keyed"] / got["plain"])
    return {"topology": topology, "n_agents": N, "rounds": rounds, "episodes_per_run": episodes, "steps_per_s": rates,
            "keyed_over_plain": ratios, "median_ratio": statistics.median(ratios),
            "spread": [min(ratios), max(ratios)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--episodes", type=int, default=6)
    args = parser.parse_args()
    micro = per_message()
    print(f"per agent-step: {micro['agent_step_plain_us']:.1f} us plain, {micro['agent_step_signed_us']:.1f} us "
          f"signed and verified (+{micro['added_per_agent_step_us']:.1f} us: sign and check each way)")
    cells = {}
    for topology in ("actors", "single"):
        macro = through_bridge(args.rounds, args.episodes, topology)
        step_us = 1e6 / statistics.median(macro["steps_per_s"]["plain"])  # type: ignore[index]
        share = N * micro["added_per_agent_step_us"] / step_us
        cells[topology] = {**macro, "step_us": step_us, "tag_share_of_step": share}
        where = ("actors in their own process" if topology == "actors"
                 else "one process does both sides over DDS (run.intra_process false)")
        print(f"{topology:>6} ({where}): x{N} agents = {share:.1%} of a {step_us:.0f} us lockstep step; measured "
              f"keyed / plain steps/s = {macro['median_ratio']:.3f} (median of {args.rounds} rounds, spread "
              f"{macro['spread'][0]:.3f}-{macro['spread'][1]:.3f})", flush=True)
    share = cells["actors"]["tag_share_of_step"]
    print(f"target (at most 5% of a lockstep step at N = {N}, actors across processes): {share:.1%}, "
          f"{'met' if share <= 0.05 else 'NOT met'}; worst case, single over DDS: "
          f"{cells['single']['tag_share_of_step']:.1%}")
    path = bench_results.write("auth", {**micro, "cells": cells, "tag_share_of_step": share})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
