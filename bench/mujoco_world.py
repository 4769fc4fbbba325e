"""MuJoCo team world benchmark: control steps/s and real-time factor, directly and through the bridge.

For each team size N (pursuit task, scripted policies, 20 Hz control, 10 physics substeps):
- direct env: wall time spent inside env.step only (policies computed outside the timing);
- direct loop: env.step plus the scripted policies, the whole in-process control loop;
- bridge: `marl-bridge run` in lockstep, single process (supervisor + N actors over DDS), steady state.
Real-time factor = control steps/s x control period. Target (issue 2): >= 100x real time at N = 8
for the direct env. Prints a table and writes bench/results/mujoco-latest.json (plus a timestamped copy).

    python -P bench/mujoco_world.py [--sizes 2 4 8 16 32] [--steps 400] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))
os.environ.setdefault("RCUTILS_LOGGING_MIN_SEVERITY", "WARN")

from marl_bridge.cli.team import run_team
from marl_bridge.config import ShieldConfig, load, with_overrides
from marl_bridge.envs.robots import pursuit_env
from marl_bridge.envs.robots.scripted import pursuit_policy

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

REPO = Path(__file__).resolve().parents[1]
PERIOD = 0.05


def bench_direct(n: int, steps: int) -> dict[str, float]:
    env = pursuit_env(n_robots=n, max_steps=100_000)
    policies = {a: pursuit_policy(a, env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
    obs, _ = env.reset(seed=0)
    in_env = 0.0
    t_loop = time.perf_counter()
    for _ in range(steps):
        actions = {a: policies[a](obs[a]) for a in env.agents}
        t0 = time.perf_counter()
        obs, *_ = env.step(actions)
        in_env += time.perf_counter() - t0
        if not env.agents:
            obs, _ = env.reset(seed=1)
    loop = time.perf_counter() - t_loop
    env.close()
    return {"env_steps_per_s": steps / in_env, "loop_steps_per_s": steps / loop,
            "env_rtf": steps / in_env * PERIOD, "loop_rtf": steps / loop * PERIOD}


def bench_bridge(n: int, steps: int, out: Path) -> dict[str, float]:
    cfg = with_overrides(load(REPO / "config" / "mujoco_pursuit.yaml"), episodes=1, seed=0, topology="single")
    # capture would end the episode early: a capture radius of 0 keeps every run at `steps` control steps
    kwargs = {**cfg.env.kwargs, "n_robots": n, "max_steps": steps, "render_mode": None,
              "capture_robots": min(3, n), "capture_radius": 0.0}
    # no shield: the direct rows step the bare env (bench/shield.py measures the shield's cost)
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs=kwargs),
                              safety=dataclasses.replace(cfg.safety, shield=ShieldConfig()))
    card = run_team(cfg, out)
    t = card["timing"]
    return {"steps": t["steps"], "steps_per_s": t["steady_steps_per_s"], "rtf": t["steady_steps_per_s"] * PERIOD,
            "p50_ms": t["step_latency_p50_ms"], "p99_ms": t["step_latency_p99_ms"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="N = 2, 8; 150 steps")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.steps = [2, 8], 150
    header = (f"{'N':>3} {'env steps/s':>11} {'env RTF':>8} {'loop RTF':>8} {'bridge steps/s':>14} "
              f"{'bridge RTF':>10} {'bridge/env':>10} {'p50 ms':>7} {'p99 ms':>7}")
    print(header)
    print("-" * len(header))
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        direct = bench_direct(n, args.steps)
        bridge = bench_bridge(n, args.steps, Path("/tmp") / f"marl_bench_mj_{os.getpid()}")
        row = {"n": n, "direct": direct, "bridge": bridge,
               "bridge_over_env": bridge["steps_per_s"] / direct["env_steps_per_s"]}
        rows.append(row)
        print(f"{n:>3} {direct['env_steps_per_s']:>11.0f} {direct['env_rtf']:>8.1f} {direct['loop_rtf']:>8.1f} "
              f"{bridge['steps_per_s']:>14.0f} {bridge['rtf']:>10.1f} {row['bridge_over_env']:>10.3f} "
              f"{bridge['p50_ms']:>7.2f} {bridge['p99_ms']:>7.2f}", flush=True)
    eight = next((r for r in rows if r["n"] == 8), None)
    if eight is not None:
        verdict = "met" if eight["direct"]["env_rtf"] >= 100 else "NOT met"
        print(f"\ntarget >= 100x real time at N = 8 (direct env): {eight['direct']['env_rtf']:.0f}x, {verdict}")
    bench_results.write("mujoco", {"control_period_s": PERIOD, "substeps": 10, "steps": args.steps, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
