"""MuJoCo team world benchmark: control steps/s and real-time factor, directly and through the bridge.

For each team size N (pursuit task, scripted policies, 20 Hz control, 10 physics substeps; captures off,
so both sides step the same world for the same number of steps, without resets):
- direct env: wall time spent inside env.step only (policies computed outside the timing);
- direct loop: env.step plus the scripted policies, the whole in-process control loop;
- bridge: `marl-bridge run` in lockstep, single process (supervisor + N actors, observations and actions
  handed over in-process), steady state;
- bridge over DDS: the same with run.intra_process false (every message through DDS, as between processes).
The three sides take turns, --rounds times per N (this VM's speed drifts between moments); ratios are
taken per round and reported as the median with min-max. Real-time factor = control steps/s x control
period. Targets: >= 100x real time at N = 8 for the direct env (issue 2); the bridge at >= 0.5x the
direct env at N = 8 (issue 16). Prints a table and writes bench/results/mujoco-latest.json (plus a
timestamped copy); `python -P bench/tables.py mujoco` prints the README's table from it.

    python -P bench/mujoco_world.py [--sizes 2 4 8 16 32] [--steps 1500] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
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


def world_kwargs(n: int, steps: int) -> dict[str, Any]:
    """The world both sides step: a capture radius of 0 keeps every episode at `steps` control steps (a
    capture would end it early, and the direct loop's resets and emptier arena were cheaper than the
    bridge's world: the direct side measured 0.32 ms a step against 0.48 for the same world uncaptured)."""
    return {"n_robots": n, "max_steps": steps, "capture_robots": min(3, n), "capture_radius": 0.0}


def bench_direct(n: int, steps: int) -> dict[str, float]:
    env = pursuit_env(**world_kwargs(n, steps))
    policies = {a: pursuit_policy(a, env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
    obs, _ = env.reset(seed=0)
    in_env = 0.0
    t_loop = time.perf_counter()
    for _ in range(steps):
        actions = {a: policies[a](obs[a]) for a in env.agents}
        t0 = time.perf_counter()
        obs, *_ = env.step(actions)
        in_env += time.perf_counter() - t0
    loop = time.perf_counter() - t_loop
    env.close()
    return {"env_steps_per_s": steps / in_env, "loop_steps_per_s": steps / loop,
            "env_rtf": steps / in_env * PERIOD, "loop_rtf": steps / loop * PERIOD}


def bench_bridge(n: int, steps: int, out: Path, intra_process: bool = True) -> dict[str, float]:
    cfg = with_overrides(load(REPO / "config" / "mujoco_pursuit.yaml"), episodes=1, seed=0, topology="single")
    kwargs = {**cfg.env.kwargs, **world_kwargs(n, steps)}
    # no shield: the direct rows step the bare env (bench/shield.py measures the shield's cost)
    cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs=kwargs),
                              run=dataclasses.replace(cfg.run, intra_process=intra_process),
                              safety=dataclasses.replace(cfg.safety, shield=ShieldConfig()))
    card = run_team(cfg, out)
    t = card["timing"]
    return {"steps": t["steps"], "steps_per_s": t["steady_steps_per_s"], "rtf": t["steady_steps_per_s"] * PERIOD,
            "p50_ms": t["step_latency_p50_ms"], "p99_ms": t["step_latency_p99_ms"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the three sides per N")
    parser.add_argument("--quick", action="store_true", help="N = 2, 8; 150 steps; 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.steps, args.rounds = [2, 8], 150, 2
    header = (f"{'N':>3} {'env steps/s':>11} {'loop steps/s':>12} {'bridge steps/s':>14} {'DDS steps/s':>11} "
              f"{'bridge/env':>17} {'bridge/loop':>11} {'DDS/env':>7} {'p99 ms':>7}")
    print(f"median of {args.rounds} alternating rounds (min-max of the per-round ratios); {args.steps} steps each")
    print(header)
    print("-" * len(header))
    rows: list[dict[str, Any]] = []
    out = Path("/tmp") / f"marl_bench_mj_{os.getpid()}"
    for n in args.sizes:
        rounds = []
        for _ in range(args.rounds):  # alternating: a machine that slows down slows every side alike
            direct = bench_direct(n, args.steps)
            bridge = bench_bridge(n, args.steps, out)
            dds = bench_bridge(n, args.steps, out, intra_process=False)
            rounds.append({"direct": direct, "bridge": bridge, "dds": dds})
        ratio = {name: bench_results.spread([r[side]["steps_per_s"] / r["direct"][base] for r in rounds])
                 for name, side, base in (("bridge_over_env", "bridge", "env_steps_per_s"),
                                          ("bridge_over_loop", "bridge", "loop_steps_per_s"),
                                          ("dds_over_env", "dds", "env_steps_per_s"))}
        med = {side: {k: statistics.median(r[side][k] for r in rounds) for k in rounds[0][side]}
               for side in ("direct", "bridge", "dds")}
        row = {"n": n, **med, **ratio, "rounds": rounds}
        rows.append(row)
        b = ratio["bridge_over_env"]
        print(f"{n:>3} {med['direct']['env_steps_per_s']:>11.0f} {med['direct']['loop_steps_per_s']:>12.0f} "
              f"{med['bridge']['steps_per_s']:>14.0f} {med['dds']['steps_per_s']:>11.0f} "
              f"{b['median']:>5.2f} ({b['min']:.2f}-{b['max']:.2f}) {ratio['bridge_over_loop']['median']:>11.2f} "
              f"{ratio['dds_over_env']['median']:>7.2f} {med['bridge']['p99_ms']:>7.2f}", flush=True)
    eight = next((r for r in rows if r["n"] == 8), None)
    if eight is not None:
        rtf = eight["direct"]["env_rtf"]
        print(f"\ntarget >= 100x real time at N = 8 (direct env): {rtf:.0f}x, {'met' if rtf >= 100 else 'NOT met'}")
        b = eight["bridge_over_env"]["median"]
        print(f"target bridge (single) >= 0.5x the direct env at N = 8: {b:.2f}x, {'met' if b >= 0.5 else 'NOT met'}")
    path = bench_results.write("mujoco", {"control_period_s": PERIOD, "substeps": 10, "steps": args.steps,
                                          "rounds": args.rounds, "rows": rows})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
