"""Cost of the safety shield per control step: the MuJoCo pursuit step with and without the shield.

For N = 4, 16, 32 robots (scripted pursuit policies, every rule on: speed and acceleration limits,
geofence, min separation, near misses), times env.step and the shield (filter before, near misses
after) in the same shielded rollout, and prints (step + shield) / step. Writes bench/results/shield-latest.json.

    python -P bench/shield.py [--sizes 4 16 32] [--steps 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from marl_bridge.codec import SpaceCodec
from marl_bridge.config import ShieldConfig
from marl_bridge.envs.robots import pursuit_env
from marl_bridge.envs.robots.scripted import pursuit_policy
from marl_bridge.safety.shield import Shield

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results

REPO = Path(__file__).resolve().parents[1]
RULES = ShieldConfig(max_speed_mps=0.8, max_accel_mps2=3.0, min_separation_m=0.45, near_miss_m=0.42,
                     geofence=(-3.8, -3.8, 3.8, 3.8))


def measure(n: int, steps: int) -> dict[str, float]:
    """One shielded rollout; the shield's own time and env.step's time are measured separately, so the
    ratio compares like with like (a shielded team moves differently, so a second unshielded rollout
    would time different physics)."""
    env = pursuit_env(n_robots=n, max_steps=100_000, capture_radius=0.0, capture_robots=min(3, n))
    policies = {a: pursuit_policy(a, env.observation_space(a), env.action_space(a)) for a in env.possible_agents}
    shield = Shield(RULES, env, {a: SpaceCodec(env.action_space(a)) for a in env.possible_agents}, "bench")
    obs, _ = env.reset(seed=0)
    in_shield = in_step = 0.0
    interventions = 0
    for k in range(steps):
        actions = {a: policies[a](obs[a]) for a in env.agents}
        t0 = time.perf_counter()
        actions, events = shield.filter(actions, 0, k)
        t1 = time.perf_counter()
        obs, *_ = env.step(actions)
        t2 = time.perf_counter()
        shield.near_misses(0, k)
        t3 = time.perf_counter()
        in_shield += (t1 - t0) + (t3 - t2)
        in_step += t2 - t1
        interventions += len(events)
    return {"n": n, "step_ms": in_step / steps * 1e3, "shield_ms": in_shield / steps * 1e3,
            "ratio": (in_step + in_shield) / in_step, "interventions": interventions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 32])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    print(f"{'N':>3} {'env.step ms':>11} {'shield ms':>9} {'(step+shield)/step':>18} {'interventions':>13}")
    rows = []
    for n in args.sizes:
        r = measure(n, args.steps)
        rows.append(r)
        print(f"{n:>3} {r['step_ms']:>11.3f} {r['shield_ms']:>9.3f} {r['ratio']:>18.2f} {r['interventions']:>13}",
              flush=True)
    bench_results.write("shield", {"steps": args.steps, "rules": RULES.__dict__ | {"geofence": list(RULES.geofence)},
                                   "rows": rows})
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
