"""Image observations through the bridge: pistonball_v6 (20 pistons, each observing a 457x120x3 uint8
image), stepped directly and through the bridge (`single` topology, random policies, no recording).

Measured in one run, the two taking turns (this VM's speed drifts between moments):
- steps/s directly (env.step with sampled actions, no ROS) and through the bridge; the median ratio of
  bridge / direct over the rounds (target, issue 16: at least 0.5);
- bytes per joint step on the wire: every agent's observation as it travels now (each leaf in its own
  dtype: the images as bytes) against the float64 flattening the previous wire used (target: 8x less);
- a short recorded run: the bag's bytes per joint step, beside the float64 estimate.
Results: bench/results/image-env-latest.json.

    python -P bench/image_env.py [--rounds 3] [--cycles 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(151 + os.getpid() % 80))  # a domain of its own
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

from marl_bridge.cli.team import run_team
from marl_bridge.codec import SpaceCodec
from marl_bridge.config import PolicyConfig, RunConfig, load, with_overrides
from marl_bridge.envs.factory import make_env

REPO = Path(__file__).resolve().parents[1]


def config(cycles: int) -> RunConfig:
    cfg = with_overrides(load(REPO / "config" / "pursuit.yaml"), episodes=1, seed=5, topology="single")
    env = dataclasses.replace(cfg.env, name="pistonball_v6", kwargs={"n_pistons": 20, "max_cycles": cycles},
                              entry_point="pettingzoo.butterfly:pistonball_v6.parallel_env")
    sup = dataclasses.replace(cfg.supervisor, team="pistons", step_deadline_s=5.0,
                              fallback=dataclasses.replace(cfg.supervisor.fallback, kind="zero"))
    policy = dataclasses.replace(cfg.policy, shared=True, default=PolicyConfig(kind="random"), per_agent={})
    return dataclasses.replace(cfg, env=env, supervisor=sup, policy=policy)


def direct(cfg: RunConfig) -> float:
    """Steps/s of the env stepped in a plain loop with sampled actions (what the bridge wraps)."""
    env = make_env(cfg.env)
    env.reset(seed=cfg.run.seed)
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(i)
    steps, start = 0, time.perf_counter()
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
        steps += 1
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def bridge(cfg: RunConfig, out: Path, record: Path | None = None) -> dict:
    return run_team(cfg, out, record=record)  # recording as `marl-bridge run --record` does it


def wire_bytes(cfg: RunConfig) -> dict[str, float]:
    env = make_env(cfg.env)
    obs, _ = env.reset(seed=cfg.run.seed)
    now = sum(SpaceCodec(env.observation_space(a)).pack(obs[a]).nbytes() for a in env.agents)
    as_f64 = sum(8 * SpaceCodec(env.observation_space(a)).size for a in env.agents)
    env.close()
    return {"observation_bytes_per_step": now, "float64_bytes_per_step": as_f64, "ratio": as_f64 / now}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=60, help="joint steps per timed episode")
    args = parser.parse_args()
    cfg = config(args.cycles)
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ("direct", "bridge") if r % 2 == 0 else ("bridge", "direct")
            rates = {}
            for side in order:
                if side == "direct":
                    rates[side] = direct(cfg)
                else:
                    card = bridge(cfg, Path(tmp) / f"run{r}")
                    assert card["status"] == "complete", card["status"]
                    rates[side] = card["timing"]["steps_per_s"]
            rounds.append({**rates, "ratio": rates["bridge"] / rates["direct"]})
            print(f"round {r}: direct {rates['direct']:.1f} steps/s, bridge {rates['bridge']:.1f} steps/s, "
                  f"ratio {rounds[-1]['ratio']:.2f}")
        short = config(20)
        bag = Path(tmp) / "bag"
        card = bridge(short, Path(tmp) / "recorded", record=bag)
        steps = sum(ep["steps"] for ep in card["episodes"])
        bag_bytes = sum(f.stat().st_size for f in bag.rglob("*") if f.is_file())
    wire = wire_bytes(cfg)
    ratios = [r["ratio"] for r in rounds]
    result = {
        "env": "pistonball_v6, 20 pistons, random policies, single topology, no recording",
        "rounds": rounds, **bench_results.spread(ratios, "ratio_"), "target_ratio": 0.5, "wire": wire,
        "bag": {"steps": steps, "bytes": bag_bytes, "bytes_per_step": bag_bytes / max(steps, 1),
                "float64_estimate_per_step": wire["float64_bytes_per_step"]},
    }
    path = bench_results.write("image-env", result)
    print(f"bridge / direct: median {result['ratio_median']:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}; "
          f"target >= 0.5)")
    print(f"wire: {wire['observation_bytes_per_step'] / 1e6:.2f} MB of observations per joint step, "
          f"{wire['ratio']:.1f}x less than as float64 ({wire['float64_bytes_per_step'] / 1e6:.1f} MB)")
    print(f"bag: {bag_bytes / 1e6:.1f} MB for {steps} joint steps ({bag_bytes / max(steps, 1) / 1e6:.2f} MB/step)")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
