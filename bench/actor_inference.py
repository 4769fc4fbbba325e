"""Actor inference cost per control step: onnx vs mlp vs scripted policies on the MuJoCo pursuit team.

Two views, N = 4 and 16 robots:
- inference alone: every robot's `policy.act(obs)` on observations recorded from a scripted rollout, as
  one actor process would run them; the kinds take turns in interleaved rounds (ABC, BCA, ...) so drift
  of this shared machine hits all alike; the median per-step cost and the ratios come from one run;
- through the bridge: lockstep steps/s of the team in the `single` topology with each kind (no shield).
The onnx model has the shipped learned actor's shape (19 -> 64 -> 64 -> 3, float64 arithmetic, as
`marl-bridge train` exports) and the mlp .npz carries the same weights, so both compute the same function.
Writes bench/results/actor-inference-latest.json (and a dated copy). DDS stays on this machine
(ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in a domain of its own.

    python -P bench/actor_inference.py [--sizes 4 16] [--rounds 7] [--steps 200]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))

from marl_bridge.config import PolicyConfig, ShieldConfig, TeamPolicyConfig, load, with_overrides
from marl_bridge.envs.robots import pursuit_env
from marl_bridge.envs.robots.scripted import pursuit_policy
from marl_bridge.policies import make_policy
from marl_bridge.policies.onnx_build import mlp_model, write_model

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

REPO = Path(__file__).resolve().parents[1]
SCRIPTED = PolicyConfig(kind="scripted", entry_point="marl_bridge.envs.robots.scripted:pursuit_policy")


def models(tmp: Path) -> dict[str, PolicyConfig]:
    rng = np.random.default_rng(0)
    layers = [(rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.1) for a, b in ((19, 64), (64, 64),
                                                                                             (64, 3))]
    onnx = write_model(tmp / "actor.onnx", mlp_model(layers, log_std=np.full(3, -0.5), dtype=np.float64,
                                                     input_dtype=np.float32,
                                                     metadata={"marl_bridge.box_output": "tanh"}))
    npz = tmp / "actor.npz"
    np.savez(npz, **{f"W{i}": w for i, (w, _) in enumerate(layers)}, **{f"b{i}": b for i, (_, b) in enumerate(layers)})
    return {"scripted": SCRIPTED, "mlp": PolicyConfig(kind="mlp", path=str(npz)),
            "onnx": PolicyConfig(kind="onnx", path=str(onnx))}


def observations(n: int, steps: int) -> list[dict[str, np.ndarray]]:
    env = pursuit_env(n_robots=n, max_steps=100_000, capture_radius=0.0, capture_robots=min(3, n))
    act = {a: pursuit_policy(a, env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
    obs, _ = env.reset(seed=1)
    out = []
    for _ in range(steps):
        out.append(obs)
        obs, *_ = env.step({a: act[a](obs[a]) for a in env.agents})
    env.close()
    return out


def inference(n: int, kinds: dict[str, PolicyConfig], steps: int, rounds: int) -> dict[str, Any]:
    env = pursuit_env(n_robots=n)
    spaces_ = (env.observation_space("robot_0"), env.action_space("robot_0"))
    agents = list(env.possible_agents)
    env.close()
    policies = {k: {a: make_policy(cfg, a, *spaces_) for a in agents} for k, cfg in kinds.items()}
    for team in policies.values():
        for p in team.values():
            p.reset(0)
    obs = observations(n, steps)
    names = list(kinds)
    per_step: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            team = policies[k]
            t0 = time.perf_counter()
            for o in obs:
                for a in agents:
                    team[a].act(o[a])
            per_step[k].append((time.perf_counter() - t0) / steps * 1e6)
    med = {k: float(np.median(v)) for k, v in per_step.items()}
    return {"n": n, "us_per_step": med, "us_per_agent_act": {k: v / n for k, v in med.items()},
            "spread_us": {k: [float(min(v)), float(max(v))] for k, v in per_step.items()},
            "onnx_over_mlp": med["onnx"] / med["mlp"], "onnx_over_scripted": med["onnx"] / med["scripted"]}


def bridge(n: int, kind: str, cfg_policy: PolicyConfig, steps: int, out: Path) -> float:
    from marl_bridge.cli.team import run_team

    cfg = with_overrides(load(REPO / "config" / "mujoco_pursuit.yaml"), episodes=1, seed=0, topology="single")
    kwargs = {**cfg.env.kwargs, "n_robots": n, "max_steps": steps, "render_mode": None,
              "capture_robots": min(3, n), "capture_radius": 0.0}
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs=kwargs),
                              policy=TeamPolicyConfig(shared=True, default=cfg_policy),
                              safety=dataclasses.replace(cfg.safety, shield=ShieldConfig()))
    card = run_team(cfg, out / f"{kind}_{n}")
    return float(card["timing"]["steady_steps_per_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="marl_bench_inf_") as tmp:
        kinds = models(Path(tmp))
        rows = []
        header = (f"{'N':>3} {'scripted us/step':>16} {'mlp us/step':>12} {'onnx us/step':>13} {'onnx/mlp':>9} "
                  f"{'onnx/scripted':>13}   bridge steps/s: scripted / mlp / onnx")
        print(header)
        print("-" * len(header))
        for n in args.sizes:
            row = inference(n, kinds, args.steps, args.rounds)
            row["bridge_steps_per_s"] = {k: bridge(n, k, cfg, 300, Path(tmp)) for k, cfg in kinds.items()}
            rows.append(row)
            us, b = row["us_per_step"], row["bridge_steps_per_s"]
            print(f"{n:>3} {us['scripted']:>16.0f} {us['mlp']:>12.0f} {us['onnx']:>13.0f} "
                  f"{row['onnx_over_mlp']:>9.2f} {row['onnx_over_scripted']:>13.2f}   "
                  f"{b['scripted']:.0f} / {b['mlp']:.0f} / {b['onnx']:.0f}", flush=True)
    bench_results.write("actor-inference", {"rounds": args.rounds, "steps": args.steps, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
