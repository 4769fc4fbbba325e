"""How often does this machine stop? A probe on every core sleeps 1 ms at a time and notes each wake-up
that came more than --late-ms late; a pause seen on every core at the same moment is the whole machine
stopping (on a VM: the host not running it), which no program on it can avoid.

Why: the real-time bench (bench/realtime.py) sees a few whole-process stalls of ~5 ms per 10,000 steps;
this shows whether the machine itself pauses that often, with nothing else running or beside the team.
Used by bench/realtime.py during its cells; alone:

    python -P bench/pauses.py [--seconds 60] [--late-ms 2]

`slowdowns()` asks the other question, with nothing else running: does the same work always take the same
CPU time here? A fixed unit of pure Python work (~0.3 ms) runs over and over on one core; a unit whose
thread CPU time is several times the median ran on a slowed CPU (on a VM: the host's other load), since
time the host did not run the machine at all is not counted in thread CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself (the benches run with python -P)

_PROBE = r"""
import json, os, sys, time
from select import select
os.sched_setaffinity(0, {int(sys.argv[1])})
late_s, late = float(sys.argv[2]), []
sleep, now = time.sleep, time.monotonic
while True:
    t = now()
    sleep(0.001)
    over = now() - t - 0.001
    if over > late_s:
        late.append((t, over))
    if select([sys.stdin], [], [], 0)[0]:  # a line from the bench, or its end: stop
        break
print(json.dumps(late))
"""


_WORK = r"""
import json, os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
cpu, now, end = time.thread_time, time.monotonic, time.monotonic() + float(sys.argv[2])
walls, cpus = [], []
def work():
    s = 0
    for i in range(6000):
        s += i * i
while now() < end:
    t, c = now(), cpu()
    work()
    cpus.append(cpu() - c)
    walls.append(now() - t)
    time.sleep(0.0005)
print(json.dumps([walls, cpus]))
"""


def slowdowns(seconds: float = 20.0, core: int = 0) -> dict[str, Any]:
    """The same ~0.3 ms of work, over and over for `seconds` on `core`, nothing else of the bench running:
    how often its CPU time was 2x and 3x its median (a slowed CPU) and its wall time over 2.5 ms (a
    pause), per minute, and the worst of each."""
    out = subprocess.run([sys.executable, "-c", _WORK, str(core), str(seconds)], capture_output=True, text=True,
                         check=True, timeout=seconds + 60).stdout
    walls, cpus = (sorted(x) for x in json.loads(out))
    median = cpus[len(cpus) // 2]
    minutes = seconds / 60
    return {"seconds": seconds, "units": len(cpus), "median_cpu_ms": round(median * 1e3, 3),
            "cpu_2x_per_min": round(sum(c > 2 * median for c in cpus) / minutes, 1),
            "cpu_3x_per_min": round(sum(c > 3 * median for c in cpus) / minutes, 1),
            "worst_cpu_x": round(cpus[-1] / median, 1),
            "wall_over_2_5ms_per_min": round(sum(w > 0.0025 for w in walls) / minutes, 1),
            "worst_wall_ms": round(walls[-1] * 1e3, 2)}


class Probe:
    """One sleeping probe process per core, from start() to stop(); their late wake-ups (monotonic start,
    seconds late) and the pauses every core saw at once."""

    def __init__(self, late_ms: float = 2.0) -> None:
        self.late_s = late_ms / 1e3
        self.procs: list[subprocess.Popen[str]] = []
        self.started = self.stopped = 0.0

    def start(self) -> Probe:
        cores = sorted(os.sched_getaffinity(0))
        self.procs = [subprocess.Popen([sys.executable, "-c", _PROBE, str(c), str(self.late_s)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True) for c in cores]
        self.started = time.monotonic()
        return self

    def stop(self) -> dict[str, Any]:
        self.stopped = time.monotonic()
        per_core = []
        for proc in self.procs:
            out, _ = proc.communicate("stop\n", timeout=30)
            per_core.append([tuple(x) for x in json.loads(out or "[]")])
        return summarize(per_core, self.stopped - self.started, self.late_s)


def summarize(per_core: list[list[tuple[float, float]]], seconds: float, late_s: float) -> dict[str, Any]:
    """Per core: how many late wake-ups and the longest; whole-machine pauses: moments when every core's
    sleep overran, overlapping in time (the overlap is how long the machine stood still at least), each
    as (monotonic start, seconds). One core's late wake-ups alone say little: mostly the program beside the
    probe had that core."""
    together: list[tuple[float, float]] = []
    if per_core and all(per_core):
        first, *others = per_core
        for t0, over0 in first:
            start, end = t0 + 0.001, t0 + 0.001 + over0  # when this core should have woken, when it did
            for core in others:
                overlaps = [(max(start, t + 0.001), min(end, t + 0.001 + o)) for t, o in core
                            if t + 0.001 < end and start < t + 0.001 + o]
                if not overlaps:
                    start = end
                    break
                start, end = max(overlaps, key=lambda x: x[1] - x[0])
            if end - start > late_s:
                together.append((start, end - start))
    minutes = seconds / 60 if seconds else 1.0
    return {"seconds": round(seconds, 1), "late_ms": late_s * 1e3,
            "per_core": [{"late": len(c), "per_min": round(len(c) / minutes, 1),
                          "longest_ms": round(max((o for _t, o in c), default=0.0) * 1e3, 2)} for c in per_core],
            "machine_pauses": len(together), "machine_pauses_per_min": round(len(together) / minutes, 2),
            "machine_pauses_5ms": sum(1 for _t, o in together if o >= 0.005),
            "longest_machine_pause_ms": round(max((o for _t, o in together), default=0.0) * 1e3, 2),
            "machine_pause_intervals": together}


def during_pauses(times: list[float], pauses: list[tuple[float, float]], window_s: float) -> int:
    """How many of `times` (monotonic, when something was found late) had a whole-machine pause in the
    `window_s` before them (the step's deadline window), 1 ms either side."""
    return sum(1 for t in times if any(start < t + 0.001 and t - window_s - 0.001 < start + length
                                       for start, length in pauses))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--late-ms", type=float, default=2.0)
    args = parser.parse_args()
    probe = Probe(args.late_ms).start()
    time.sleep(args.seconds)
    result = probe.stop()
    result["slowdowns"] = slowdowns(min(args.seconds, 20.0))
    print(json.dumps(result, indent=1))
    import bench_results
    print(f"results: {bench_results.write('pauses', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
