"""Real time: does the team keep a fixed control rate? MuJoCo pursuit with the shield, realtime mode.

Cells (issue 16, item 4): 16 robots at 100 Hz and 32 robots at 50 Hz in `single` (supervisor and every
actor in one process), each for --steps joint steps (default 10,000; captures off, one episode). An
action counts when it arrives within the step deadline (--deadline-ms, default 5 ms after its
observation); later ones are deadline misses (the fallback stands in). Target: 0 misses and p99
observation-to-action below 5 ms in both cells. Beside these cells runs bench/pauses.py's probe: how
often every core of the machine stood still at once (a VM's host not running it) for more than half
the deadline; a stall of the whole machine makes every agent of that step late together ("late" counts
such steps). Each late step of the single cells is put down to where its window's time went
(`late_causes`, from the run card's `late_steps_*` and `window_thread_cpu_ms`): the team's thread computing
longer than usual, waiting for a CPU other processes here had, or the machine not running at all; the
probe's pauses are the check on the last. Before the cells, with nothing else running, bench/pauses.py's
`slowdowns` shows how often the same work takes several times its CPU time on this machine.

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
from pauses import Probe, during_pauses, slowdowns

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
    t = card["timing"]
    window_cpu = t["window_thread_cpu_ms"]
    causes = late_causes(t, window_cpu["p50"] if window_cpu else 0.0) if topology == "single" else None
    agent_steps = card["totals"]["agent_steps"]
    misses = sum(card["deadline_misses"].values())
    return {"n": n, "rate_hz": rate_hz, "deadline_ms": deadline_s * 1e3, "topology": topology, "processes_per_core": (
                (n + 1) / (os.cpu_count() or 1) if topology == "multiprocess" else 1 / (os.cpu_count() or 1)),
            "status": card["status"], "steps": t["steps"], "agent_steps": agent_steps, "deadline_misses": misses,
            "miss_share": misses / agent_steps if agent_steps else None,
            "p50_ms": max(v["p50"] for v in latency) if latency else None,
            "p99_ms": max(v["p99"] for v in latency) if latency else None,
            "max_ms": max(v["max"] for v in latency) if latency else None,
            "fallback_steps": card["totals"]["fallback_steps"], "interventions": card["interventions"],
            "late_steps": t["steps_with_deadline_misses"], "machine": machine,
            "window_thread_cpu_ms": window_cpu, "late_step_causes": causes,
            "late_steps_window_ran_queued_ms": [[round(x, 2) for x in w] for w in zip(
                t["late_steps_window_ms"], t["late_steps_thread_cpu_ms"], t["late_steps_queued_ms"], strict=True)],
            "late_steps_during_machine_pauses": (during_pauses(t["late_steps_monotonic_s"],
                                                               machine["machine_pause_intervals"], deadline_s)
                                                 if machine else None)}


def late_causes(timing: dict[str, Any], usual_cpu_ms: float) -> dict[str, int]:
    """Each late step (of the first 100 the card details) put down to where most of its window's time
    beyond the usual window's CPU time went: `computing` (the team's thread ran longer than usual: more work,
    or the same work on a slower CPU), `queued` (it waited for a CPU other processes of this machine had) or
    `machine_stopped` (it neither ran nor waited here: the machine itself was not running, a VM's host). In
    `single` the thread has work from the window's start to its settlement (every actor runs on it), so it
    does not sleep in between; elsewhere it waits for other processes and this does not apply."""
    causes = dict.fromkeys(("computing", "queued", "machine_stopped"), 0)
    for wall, ran, queued in zip(timing["late_steps_window_ms"], timing["late_steps_thread_cpu_ms"],
                                 timing["late_steps_queued_ms"], strict=True):
        parts = {"computing": ran - usual_cpu_ms, "queued": queued, "machine_stopped": wall - ran - queued}
        causes[max(parts, key=lambda k: parts[k])] += 1
    return causes


def _line(row: dict[str, Any]) -> str:
    share = f"{row['miss_share']:.2%}" if row["miss_share"] is not None else "-"
    machine = row["machine"]
    pauses = (f"{machine['machine_pauses']:>4} ({machine['longest_machine_pause_ms']:.1f} ms), "
              f"{row['late_steps_during_machine_pauses']} late" if machine else "-")
    causes = row["late_step_causes"] or {}
    why = " ".join(f"{k} {v}" for k, v in causes.items() if v) or "-"
    return (f"{row['topology']:>12} {row['n']:>3} {row['rate_hz']:>5.0f} {row['steps']:>6} {row['agent_steps']:>8} "
            f"{row['deadline_misses']:>6} {share:>7} {row['late_steps']:>5} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['max_ms']:>7.2f} {row['window_thread_cpu_ms']['p50']:>7.2f}  "
            f"{pauses:<22} {why}")


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
              f"{'late':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'cpu ms':>7}  {'machine paused, late':<22} late "
              f"steps by cause")
    said = f"{args.deadline_ms} ms" if args.deadline_ms else "the control period"
    print(f"MuJoCo pursuit, shield on, realtime; deadline {said} after the observation; "
          f"latency = observation to action arrival, the worst agent's; late = steps with a miss;\n"
          f"cpu ms = the team thread's CPU time in a step's window (observations sent to step settled), p50;\n"
          f"machine paused = moments every core stood still longer than half the deadline (bench/pauses.py "
          f"beside the single cells), the longest, and the late steps inside one;\n"
          f"late steps by cause = where most of a late window went: the team's thread computing longer than usual, "
          f"queued behind other processes here, or the machine stopped")
    host = slowdowns(20.0)
    print(f"this machine, nothing else running (bench/pauses.py slowdowns): the same {host['median_cpu_ms']} ms of "
          f"work took 2x its CPU time {host['cpu_2x_per_min']}/min, 3x {host['cpu_3x_per_min']}/min (worst "
          f"{host['worst_cpu_x']}x); its wall time passed 2.5 ms {host['wall_over_2_5ms_per_min']}/min (worst "
          f"{host['worst_wall_ms']} ms)\n")
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
    path = bench_results.write("realtime", {"deadline": said, "p99_bound_ms": P99_BOUND_MS, "host": host,
                                            "single": single, "multiprocess": multi, "target_met": met})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
