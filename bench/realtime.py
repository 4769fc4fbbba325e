"""Real time: does the team keep a fixed control rate? MuJoCo pursuit with the shield, realtime mode.

Cells (issue 16, item 4): 16 robots at 100 Hz and 32 robots at 50 Hz in `single` (supervisor and every
actor in one process), each for --steps joint steps (default 10,000; captures off, one episode). An
action counts when it arrives within the step deadline (--deadline-ms, default 5 ms after its
observation); later ones are deadline misses (the fallback stands in). Target: 0 misses and p99
observation-to-action below 5 ms in both cells. Beside these cells runs bench/pauses.py's probe: how
often every core of the machine stood still at once (a VM's host not running it) for more than half
the deadline; a stall of the whole machine makes every agent of that step late together ("late" counts
such steps).

Then the multiprocess sweep: one process per actor (as on real robots, where each has its own
computer), N = 2, 4, 8, 16 at 100 Hz for --sweep-steps steps each, on this machine's cores: how misses
and latency grow with processes per core. Results: bench/results/realtime-latest.json.

    python -P bench/realtime.py [--steps 10000] [--sweep-steps 2000] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # before anything loads rclpy
os.environ.setdefault("ROS_DOMAIN_ID", str(111 + os.getpid() % 60))  # a domain of its own
os.environ.setdefault("RCUTILS_LOGGING_MIN_SEVERITY", "WARN")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)
import bench_results
from pauses import Probe, during_pauses

from marl_bridge.cli.team import run_team
from marl_bridge.config import RunConfig, load, with_overrides

REPO = Path(__file__).resolve().parents[1]
P99_BOUND_MS = 5.0


def config(n: int, rate_hz: float, steps: int, topology: str, deadline_s: float) -> RunConfig:
    """config/mujoco_pursuit.yaml (shield on: speed limit, separation, geofence) at `rate_hz`."""
    cfg = with_overrides(load(REPO / "config" / "mujoco_pursuit.yaml"), episodes=1, seed=0, topology=topology)
    kwargs = {**cfg.env.kwargs, "n_robots": n, "max_steps": steps, "control_period_s": 1.0 / rate_hz,
              "capture_robots": min(3, n), "capture_radius": 0.0}  # no capture: one episode of `steps`
    sup = dataclasses.replace(cfg.supervisor, mode="realtime", control_rate_hz=rate_hz, step_deadline_s=deadline_s,
                              startup_timeout_s=60.0)
    return dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, kwargs=kwargs), supervisor=sup)


def cell(n: int, rate_hz: float, steps: int, topology: str, deadline_s: float, probe: bool = False) -> dict[str, Any]:
    """One run; with `probe`, bench/pauses.py's probe runs beside it: how often the machine itself stood still."""
    cfg = config(n, rate_hz, steps, topology, deadline_s)
    pauses = Probe(late_ms=deadline_s * 1e3 / 2).start() if probe else None
    with tempfile.TemporaryDirectory(prefix="marl_bench_rt_") as out:
        card = run_team(cfg, Path(out))
    machine = pauses.stop() if pauses is not None else None
    latency = [v for v in card["action_latency_ms"].values() if v]
    agent_steps = card["totals"]["agent_steps"]
    misses = sum(card["deadline_misses"].values())
    t = card["timing"]
    return {"n": n, "rate_hz": rate_hz, "deadline_ms": deadline_s * 1e3, "topology": topology, "processes_per_core": (
                (n + 1) / (os.cpu_count() or 1) if topology == "multiprocess" else 1 / (os.cpu_count() or 1)),
            "status": card["status"], "steps": t["steps"], "agent_steps": agent_steps, "deadline_misses": misses,
            "miss_share": misses / agent_steps if agent_steps else None,
            "p50_ms": max(v["p50"] for v in latency) if latency else None,
            "p99_ms": max(v["p99"] for v in latency) if latency else None,
            "max_ms": max(v["max"] for v in latency) if latency else None,
            "fallback_steps": card["totals"]["fallback_steps"], "interventions": card["interventions"],
            "late_steps": t["steps_with_deadline_misses"], "machine": machine,
            "late_steps_during_machine_pauses": (during_pauses(t["late_steps_monotonic_s"],
                                                               machine["machine_pause_intervals"], deadline_s)
                                                 if machine else None)}


def _line(row: dict[str, Any]) -> str:
    share = f"{row['miss_share']:.2%}" if row["miss_share"] is not None else "-"
    machine = row["machine"]
    pauses = (f"{machine['machine_pauses']:>4} ({machine['longest_machine_pause_ms']:.1f} ms); late steps in one: "
              f"{row['late_steps_during_machine_pauses']}" if machine else "-")
    return (f"{row['topology']:>12} {row['n']:>3} {row['rate_hz']:>5.0f} {row['steps']:>6} {row['agent_steps']:>8} "
            f"{row['deadline_misses']:>6} {share:>7} {row['late_steps']:>5} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['max_ms']:>7.2f}  {pauses}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="joint steps per single-process cell")
    parser.add_argument("--sweep-steps", type=int, default=2000, help="joint steps per multiprocess cell")
    parser.add_argument("--deadline-ms", type=float, default=5.0, help="0: the control period")
    parser.add_argument("--quick", action="store_true", help="1,000 steps per cell, sweep N = 2 and 8")
    args = parser.parse_args()
    sweep = [2, 4, 8, 16]
    if args.quick:
        args.steps, args.sweep_steps, sweep = 1000, 500, [2, 8]

    def deadline(rate_hz: float) -> float:
        return args.deadline_ms / 1e3 if args.deadline_ms else 1.0 / rate_hz
    header = (f"{'topology':>12} {'N':>3} {'Hz':>5} {'steps':>6} {'ag-steps':>8} {'misses':>6} {'share':>7} "
              f"{'late':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  machine paused")
    said = f"{args.deadline_ms} ms" if args.deadline_ms else "the control period"
    print(f"MuJoCo pursuit, shield on, realtime; deadline {said} after the observation; "
          f"latency = observation to action arrival, the worst agent's; late = steps with a miss;\n"
          f"machine paused = moments every core stood still longer than half the deadline (bench/pauses.py "
          f"beside the single cells), the longest")
    print(header)
    print("-" * len(header))
    single = []
    for n, rate in ((16, 100.0), (32, 50.0)):
        row = cell(n, rate, args.steps, "single", deadline(rate), probe=True)
        single.append(row)
        print(_line(row), flush=True)
    multi = []
    for n in sweep:
        row = cell(n, 100.0, args.sweep_steps, "multiprocess", deadline(100.0))
        multi.append(row)
        print(_line(row), flush=True)
    met = all(r["deadline_misses"] == 0 and r["p99_ms"] is not None and r["p99_ms"] < P99_BOUND_MS and
              r["status"] == "complete" for r in single)
    print(f"\ntarget (single: 16 @ 100 Hz and 32 @ 50 Hz, 0 misses, p99 < {P99_BOUND_MS} ms): "
          f"{'met' if met else 'NOT met'}")
    path = bench_results.write("realtime", {"deadline": said, "p99_bound_ms": P99_BOUND_MS,
                                            "single": single, "multiprocess": multi, "target_met": met})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
